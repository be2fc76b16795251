package disco

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NSRSM is the namespace of XEP-0059 Result Set Management.
const NSRSM = "http://jabber.org/protocol/rsm"

// RSM is an XEP-0059 <set/>: the paging request (Max, After) or the
// description of a result page (First, Last, Count).
type RSM struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/rsm set"`
	Max     *int     `xml:"max,omitempty"`
	After   string   `xml:"after,omitempty"`
	Before  *string  `xml:"before,omitempty"`
	Index   *int     `xml:"index,omitempty"`
	First   string   `xml:"first,omitempty"`
	Last    string   `xml:"last,omitempty"`
	Count   *int     `xml:"count,omitempty"`
}

// maxPages bounds how many pages one listing follows, so that an entity
// that keeps answering with new "last" ids cannot keep us forever.
const maxPages = 1000

// ItemIter walks the disco#items of an entity page by page. An entity that
// does not page answers once; one that pages (XEP-0059 §2.6, paging
// without being asked, or because the list is long) is asked for the page
// after the last one seen until a page comes back empty or without a set,
// or the count is reached.
type ItemIter struct {
	s         conn.Session
	jid, node string

	page    []Item
	cur     Item
	after   string
	pages   int
	seen    int
	done    bool
	err     error
	lastIDs map[string]bool
}

// NewItemIter returns an iterator over the items of jid (and node).
func NewItemIter(s conn.Session, jid, node string) *ItemIter {
	return &ItemIter{s: s, jid: jid, node: node, lastIDs: map[string]bool{}}
}

// Next advances to the next item, fetching the next page when needed.
func (it *ItemIter) Next(ctx context.Context) bool {
	for len(it.page) == 0 {
		if it.done || it.err != nil {
			return false
		}
		it.fetch(ctx)
	}
	it.cur, it.page = it.page[0], it.page[1:]
	return true
}

// Item returns the current item.
func (it *ItemIter) Item() Item { return it.cur }

// Err returns the error that ended the iteration, if any.
func (it *ItemIter) Err() error { return it.err }

// Close stops the iteration.
func (it *ItemIter) Close() { it.done = true; it.page = nil }

func (it *ItemIter) fetch(ctx context.Context) {
	q := ItemsQuery{Node: it.node}
	if it.pages > 0 {
		q.RSM = &RSM{After: it.after}
	}
	resp, err := it.s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: it.jid, Payload: q})
	if err != nil {
		it.err = fmt.Errorf("disco#items %s: %w", it.jid, err)
		return
	}
	res, err := parseItemsQuery(resp.Query)
	if err != nil {
		it.err = err
		return
	}
	it.pages++
	it.seen += len(res.Items)
	it.page = res.Items
	set := res.RSM
	switch {
	case set == nil || set.Last == "" || len(res.Items) == 0:
		it.done = true
	case set.Count != nil && it.seen >= *set.Count:
		it.done = true
	case it.lastIDs[set.Last] || it.pages >= maxPages:
		it.done = true // the entity repeats itself: stop rather than loop
	default:
		it.lastIDs[set.Last] = true
		it.after = set.Last
	}
}
