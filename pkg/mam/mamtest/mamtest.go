// Package mamtest is an in-memory XEP-0313 archive for unit tests: it
// answers archive queries sent through an internal/xmpptest session the
// way Prosody does (results as messages, then the <fin/> in the IQ
// result, pages capped at MaxPage, item-not-found for an unknown "after"
// or "before"; a "before" page comes oldest first and is complete when it
// reaches the oldest message).
package mamtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Item is one archived message.
type Item struct {
	ID      string
	Stamp   time.Time
	Message stanza.Message
}

// Archive is a fake archive.
type Archive struct {
	From    string // the "from" of results ("" like Prosody for the account archive)
	MaxPage int    // page size cap (0 = 50)
	NoCount bool   // leave RSM <count/> out
	// Forge, when set, is the sender of an extra forged result delivered
	// with every page.
	Forge string
	// RefuseBefore answers every query with <before/> after the first
	// one with item-not-found (an archive expiring under a backward walk).
	RefuseBefore bool
	// Stuck answers every query after the first with the first query's
	// page, marked incomplete (a hostile or broken server);
	// StuckBefore does so for queries with <before/> an id only.
	Stuck, StuckBefore bool
	// RefuseStart refuses every query with a start time (a server without
	// time filters); RefuseAfterAnchor refuses to continue after an id it
	// returned to a query with a start time (an id that expired at once).
	RefuseStart, RefuseAfterAnchor bool
	// RefuseAfter refuses to continue after these ids (item-not-found).
	RefuseAfter map[string]bool

	mu      sync.Mutex
	items   []Item
	queries []Query
	anchors map[string]bool // ids returned to queries with a start time
}

// Query is what a client asked for.
type Query struct {
	QueryID string
	Max     int
	After   string
	Before  *string // nil: no <before/>; "": the newest page
	With    string
	Start   string
	End     string
}

// Add appends messages to the archive.
func (a *Archive) Add(items ...Item) {
	a.mu.Lock()
	a.items = append(a.items, items...)
	a.mu.Unlock()
}

// InsertBefore puts it in the archive just before the item with id
// before: a message the archive makes visible after later ones (an archive
// that numbers messages by time and commits them out of order).
func (a *Archive) InsertBefore(before string, it Item) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, x := range a.items {
		if x.ID == before {
			a.items = append(a.items[:i], append([]Item{it}, a.items[i:]...)...)
			return
		}
	}
	a.items = append(a.items, it)
}

// Queries returns the queries received so far.
func (a *Archive) Queries() []Query {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Query(nil), a.queries...)
}

type queryWire struct {
	XMLName xml.Name `xml:"urn:xmpp:mam:2 query"`
	QueryID string   `xml:"queryid,attr"`
	Fields  []struct {
		Var   string `xml:"var,attr"`
		Value string `xml:"value"`
	} `xml:"jabber:x:data x>field"`
	Max    string  `xml:"http://jabber.org/protocol/rsm set>max"`
	After  *string `xml:"http://jabber.org/protocol/rsm set>after"`
	Before *string `xml:"http://jabber.org/protocol/rsm set>before"`
}

// Serve makes s answer archive queries from a; other IQs get an empty
// result (carbons, pings).
func (a *Archive) Serve(s *xmpptest.Session) {
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) { return a.answer(s, iq) }
}

func (a *Archive) answer(s *xmpptest.Session, iq stanza.IQ) (*stanza.IQ, error) {
	b, err := xml.Marshal(iq.Payload)
	if err != nil {
		return nil, err
	}
	var q queryWire
	if xml.Unmarshal(b, &q) != nil || q.XMLName.Local != "query" {
		return &stanza.IQ{Type: stanza.ResultIQ}, nil
	}
	rec := Query{QueryID: q.QueryID}
	rec.Max, _ = strconv.Atoi(q.Max)
	if q.After != nil {
		rec.After = *q.After
	}
	rec.Before = q.Before
	for _, f := range q.Fields {
		switch f.Var {
		case "with":
			rec.With = f.Value
		case "start":
			rec.Start = f.Value
		case "end":
			rec.End = f.Value
		}
	}
	a.mu.Lock()
	a.queries = append(a.queries, rec)
	items := append([]Item(nil), a.items...)
	first, stuck := a.queries[0], len(a.queries) > 1 && a.Stuck
	if a.StuckBefore && rec.Before != nil && *rec.Before != "" {
		first, stuck = a.stuckBefore(rec), true
	}
	a.mu.Unlock()
	if stuck {
		rec.After, rec.Before = first.After, first.Before
	}
	items = inTime(items, rec.Start, rec.End)
	if a.RefuseBefore && rec.Before != nil && *rec.Before != "" {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}
	}
	if a.RefuseStart && rec.Start != "" {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.FeatureNotImplemented}
	}
	a.mu.Lock()
	anchor := a.anchors[rec.After]
	a.mu.Unlock()
	if a.RefuseAfterAnchor && anchor || a.RefuseAfter[rec.After] {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}
	}

	start := 0
	if rec.After != "" {
		start = -1
		for i, it := range items {
			if it.ID == rec.After {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}
		}
	}
	max := a.MaxPage
	if max == 0 {
		max = 50
	}
	if rec.Max > 0 && rec.Max < max {
		max = rec.Max
	}
	end := min(start+max, len(items))
	complete := end == len(items)
	if rec.Before != nil {
		end = len(items)
		if *rec.Before != "" {
			end = -1
			for i, it := range items {
				if it.ID == *rec.Before {
					end = i
				}
			}
			if end < 0 {
				return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}
			}
		}
		start = end - max
		if start < 0 {
			start = 0
		}
		complete = start == 0
	}
	if stuck {
		complete = false
	}
	page := items[start:end]
	if rec.Start != "" {
		a.mu.Lock()
		if a.anchors == nil {
			a.anchors = map[string]bool{}
		}
		for _, it := range page {
			a.anchors[it.ID] = true
		}
		a.mu.Unlock()
	}
	for _, it := range page {
		s.Deliver(Result(a.From, s.Full, q.QueryID, it))
		if a.Forge != "" {
			forged := it
			forged.ID = "forged-" + it.ID
			s.Deliver(Result(a.Forge, s.Full, q.QueryID, forged))
		}
	}
	var set bytes.Buffer
	set.WriteString(`<set xmlns="http://jabber.org/protocol/rsm">`)
	if len(page) > 0 {
		fmt.Fprintf(&set, `<first index="%d">%s</first><last>%s</last>`, start, page[0].ID, page[len(page)-1].ID)
	}
	if !a.NoCount {
		fmt.Fprintf(&set, "<count>%d</count>", len(items))
	}
	set.WriteString("</set>")
	fin := stanza.Element{XMLName: xml.Name{Space: "urn:xmpp:mam:2", Local: "fin"},
		Attrs: []xml.Attr{{Name: xml.Name{Local: "complete"}, Value: strconv.FormatBool(complete)}}, Inner: set.Bytes()}
	return &stanza.IQ{Type: stanza.ResultIQ, From: iq.To, Query: fin}, nil
}

// inTime keeps the items at or after start and at or before end (RFC 3339;
// "" is no bound).
func inTime(items []Item, start, end string) []Item {
	if start == "" && end == "" {
		return items
	}
	from, _ := time.Parse(time.RFC3339, start)
	to, _ := time.Parse(time.RFC3339, end)
	var out []Item
	for _, it := range items {
		if (start == "" || !it.Stamp.Before(from)) && (end == "" || !it.Stamp.After(to)) {
			out = append(out, it)
		}
	}
	return out
}

// stuckBefore is the first backward query with an id, which every later
// one repeats; rec is recorded as it when there was none.
func (a *Archive) stuckBefore(rec Query) Query {
	for _, q := range a.queries {
		if q.Before != nil && *q.Before != "" {
			return q
		}
	}
	return rec
}

type forwarded struct {
	XMLName xml.Name `xml:"urn:xmpp:forward:0 forwarded"`
	Delay   struct {
		XMLName xml.Name `xml:"urn:xmpp:delay delay"`
		Stamp   string   `xml:"stamp,attr"`
	}
	Message stanza.Message
}

// Result builds the message that carries one archive result.
func Result(from, to, queryID string, it Item) *stanza.Message {
	f := forwarded{Message: it.Message}
	f.Delay.Stamp = it.Stamp.UTC().Format(time.RFC3339)
	inner, _ := xml.Marshal(f)
	el := stanza.Element{XMLName: xml.Name{Space: "urn:xmpp:mam:2", Local: "result"},
		Attrs: []xml.Attr{{Name: xml.Name{Local: "queryid"}, Value: queryID}, {Name: xml.Name{Local: "id"}, Value: it.ID}},
		Inner: inner}
	return &stanza.Message{From: from, To: to, Ext: []stanza.Element{el}}
}

// Chat returns n chat messages from "from" to "to" with ids id-0 … and
// bodies body-0 …, one second apart from t0.
func Chat(n int, from, to, prefix string, t0 time.Time) []Item {
	out := make([]Item, n)
	for i := range out {
		id := fmt.Sprintf("%s-%d", prefix, i)
		out[i] = Item{ID: "sid-" + id, Stamp: t0.Add(time.Duration(i) * time.Second),
			Message: stanza.Message{ID: id, From: from, To: to, Type: stanza.ChatMessage, Body: "body-" + id}}
	}
	return out
}
