package mam

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/forward"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Namespaces.
const (
	NS    = "urn:xmpp:mam:2"
	NSRSM = "http://jabber.org/protocol/rsm"
	nsX   = "jabber:x:data"
)

// Query selects what to fetch from an archive.
type Query struct {
	Archive  string    // archive JID: "" for the account's own, else a room
	With     string    // only messages with this JID ("" = all)
	Start    time.Time // only messages at or after this time (zero = all)
	End      time.Time // only messages at or before this time (zero = all)
	After    string    // archive id to continue after ("" = from the oldest)
	PageSize int       // results per page asked for (0 = 250)
	// Timeout bounds the wait for each page (0 = only the context).
	Timeout time.Duration
}

// queryXML is the <query/> element of an archive request.
type queryXML struct {
	XMLName xml.Name `xml:"urn:xmpp:mam:2 query"`
	QueryID string   `xml:"queryid,attr,omitempty"`
	Form    *form    `xml:"jabber:x:data x,omitempty"`
	Set     *Set     `xml:"http://jabber.org/protocol/rsm set,omitempty"`
}

type form struct {
	Type   string  `xml:"type,attr"`
	Fields []field `xml:"field"`
}

type field struct {
	Var   string `xml:"var,attr"`
	Type  string `xml:"type,attr,omitempty"`
	Value string `xml:"value"`
}

// Set is an XEP-0059 result set element, as sent and as received.
type Set struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/rsm set"`
	Max     *int     `xml:"max,omitempty"`
	After   *string  `xml:"after,omitempty"`
	Before  *string  `xml:"before,omitempty"`
	First   string   `xml:"first,omitempty"`
	Last    string   `xml:"last,omitempty"`
	Count   *int     `xml:"count,omitempty"`
}

// request builds the <query/> for one page: the page after the id after
// ("" = from the oldest) or, with before set, the page just before the id
// *before ("" = the newest page).
func (q Query) request(queryID, after string, before *string, max int) queryXML {
	out := queryXML{QueryID: queryID, Set: &Set{Max: &max}}
	switch {
	case before != nil:
		out.Set.Before = before
	case after != "":
		out.Set.After = &after
	}
	var fields []field
	if q.With != "" {
		fields = append(fields, field{Var: "with", Value: q.With})
	}
	if !q.Start.IsZero() {
		fields = append(fields, field{Var: "start", Value: q.Start.UTC().Format(time.RFC3339)})
	}
	if !q.End.IsZero() {
		fields = append(fields, field{Var: "end", Value: q.End.UTC().Format(time.RFC3339)})
	}
	if len(fields) > 0 {
		out.Form = &form{Type: "submit", Fields: append([]field{{Var: "FORM_TYPE", Type: "hidden", Value: NS}}, fields...)}
	}
	return out
}

// Result is one archived message.
type Result struct {
	QueryID string
	ID      string    // the archive's id for the message (its stanza-id)
	Stamp   time.Time // when the archive received it
	Message *stanza.Message
}

// ParseResult decodes the <result/> carried by an archive message. ok is
// false when the message carries no result; err is set when it carries a
// malformed one.
func ParseResult(m *stanza.Message) (r *Result, ok bool, err error) {
	el, found := stanza.Find(m.Ext, NS, "result")
	if !found {
		return nil, false, nil
	}
	r, err = ParseResultElement(el)
	return r, true, err
}

// ParseResultElement decodes a <result xmlns='urn:xmpp:mam:2'/> element.
// Its attributes are already split out and its content is decoded once,
// straight from the raw bytes (forward.Find): re-encoding the element to
// decode it again (stanza.Element.Decode) cost two more passes over every
// archived message.
func ParseResultElement(el stanza.Element) (*Result, error) {
	if !el.Is(NS, "result") {
		return nil, fmt.Errorf("decode archive result: not a result element: <%s xmlns=%q>", el.XMLName.Local, el.XMLName.Space)
	}
	id := lastAttr(el, "id")
	if id == "" {
		return nil, fmt.Errorf("archive result without id")
	}
	f, err := forward.Find(el.Inner)
	if err != nil {
		return nil, fmt.Errorf("archive result %s: %w", id, err)
	}
	return &Result{QueryID: lastAttr(el, "queryid"), ID: id, Stamp: f.Stamp, Message: f.Message}, nil
}

// lastAttr is the value of the last attribute named local, in any
// namespace: what decoding into an `xml:"id,attr"` field gave before.
func lastAttr(el stanza.Element, local string) string {
	v := ""
	for _, a := range el.Attrs {
		if a.Name.Local == local {
			v = a.Value
		}
	}
	return v
}

// Fin is the end of one page: the <fin/> in the query's IQ result.
type Fin struct {
	Complete bool
	Stable   bool
	First    string
	Last     string
	Count    int // total matching messages; -1 when the server did not say
	Index    int // position of First in the whole result set; -1 when not said
}

type finXML struct {
	XMLName  xml.Name `xml:"urn:xmpp:mam:2 fin"`
	Complete string   `xml:"complete,attr"`
	Stable   string   `xml:"stable,attr"`
	Set      *struct {
		First struct {
			Index string `xml:"index,attr"`
			Value string `xml:",chardata"`
		} `xml:"first"`
		Last  string `xml:"last"`
		Count string `xml:"count"`
	} `xml:"http://jabber.org/protocol/rsm set"`
}

// ParseFin decodes the <fin/> of an IQ result.
func ParseFin(el stanza.Element) (*Fin, error) {
	if !el.Is(NS, "fin") {
		return nil, fmt.Errorf("archive query answered without <fin/> (got <%s xmlns=%q>)", el.XMLName.Local, el.XMLName.Space)
	}
	var w finXML
	if err := el.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode archive fin: %w", err)
	}
	f := &Fin{Complete: parseBool(w.Complete), Stable: w.Stable == "" || parseBool(w.Stable), Count: -1, Index: -1}
	if w.Set != nil {
		f.First, f.Last = strings.TrimSpace(w.Set.First.Value), strings.TrimSpace(w.Set.Last)
		if n, err := strconv.Atoi(strings.TrimSpace(w.Set.Count)); err == nil && n >= 0 {
			f.Count = n
		}
		if n, err := strconv.Atoi(strings.TrimSpace(w.Set.First.Index)); err == nil && n >= 0 {
			f.Index = n
		}
	}
	return f, nil
}

func parseBool(s string) bool {
	b, _ := strconv.ParseBool(strings.TrimSpace(s))
	return b
}
