package mam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// DefaultPageSize is the page size asked for when none is given; servers
// cap it (Prosody's max_archive_query_results defaults to 50, the test
// server allows 250).
const DefaultPageSize = 250

// Page is one page of results, oldest first.
type Page struct {
	Results []*Result
	Fin     Fin
}

// Iterator walks an archive forwards page by page.
//
//	it := mam.NewIterator(s, q)
//	defer it.Close()
//	for it.Next(ctx) { page := it.Page() ... }
//	if err := it.Err(); err != nil { ... }
type Iterator struct {
	s        conn.Session
	q        Query
	sub      conn.Subscription
	self     string // our bare JID
	pageSize int    // asked for
	noPipe   bool

	cur       *inflight // the query whose page the next fetch returns; nil when not sent yet
	nextAfter string    // where the next page starts (without pipelining)
	page      Page
	err       error
	done      bool
	bufs      map[string][]*Result // results by query id, not yet handed out
	seen      map[string]map[string]bool
	Forged    int // results ignored because they came from the wrong sender
}

type inflight struct {
	qid     string
	afterID string
	done    chan struct{}
	resp    *stanza.IQ
	err     error
}

// NewIterator prepares a walk; nothing is sent before the first Next.
func NewIterator(s conn.Session, q Query) *Iterator {
	if q.PageSize <= 0 {
		q.PageSize = DefaultPageSize
	}
	self, _, _ := strings.Cut(s.JID(), "/")
	return &Iterator{s: s, q: q, self: self, pageSize: q.PageSize,
		bufs: map[string][]*Result{}, seen: map[string]map[string]bool{}}
}

// DisablePipelining sends each page's query only when the caller asks for
// the page, after it has stored the previous one (for measurements and
// for servers that mishandle a query sent while the client is busy).
func (it *Iterator) DisablePipelining() { it.noPipe = true }

func (it *Iterator) start() {
	it.sub = it.s.Subscribe()
}

func (it *Iterator) send(ctx context.Context, after string) *inflight {
	f := &inflight{qid: conn.NewID(), afterID: after, done: make(chan struct{})}
	it.seen[f.qid] = map[string]bool{}
	iq := stanza.IQ{Type: stanza.SetIQ, To: it.q.Archive, Payload: it.q.request(f.qid, after, it.pageSize)}
	go func() {
		defer close(f.done)
		f.resp, f.err = it.s.SendIQ(ctx, iq)
	}()
	return f
}

// fromArchive checks the sender of a result: the archive itself (our own
// bare JID, or no from at all, for the account archive). Anything else is
// forged and ignored.
func (it *Iterator) fromArchive(from string) bool {
	if it.q.Archive == "" {
		return from == "" || strings.EqualFold(from, it.self)
	}
	return strings.EqualFold(from, it.q.Archive)
}

// route files an archive result under its query id.
func (it *Iterator) route(m *stanza.Message) error {
	el, _ := stanza.Find(m.Ext, NS, "result")
	qid := el.Attr("queryid")
	seen, ours := it.seen[qid]
	if !ours {
		return nil // another query's
	}
	if !it.fromArchive(m.From) {
		it.Forged++
		return nil
	}
	r, err := ParseResultElement(el)
	if err != nil {
		return err
	}
	if seen[r.ID] {
		return nil
	}
	seen[r.ID] = true
	it.bufs[qid] = append(it.bufs[qid], r)
	return nil
}

// Next fetches the next page. It returns false at the end of the archive
// or on error (see Err).
//
// With pipelining (the default) the query for the following page goes out
// as soon as this page's <fin/> has arrived, before Next returns: the
// server works on it while the caller stores this page. Without, it goes
// out at the start of the next call.
func (it *Iterator) Next(ctx context.Context) bool {
	if it.done || it.err != nil {
		return false
	}
	if it.sub == nil {
		it.start()
		it.cur = it.send(ctx, it.q.After)
	} else if it.cur == nil {
		it.cur = it.send(ctx, it.nextAfter)
	}
	page, err := it.fetch(ctx)
	it.cur = nil
	if err != nil {
		it.err = err
		return false
	}
	it.page = page
	n := len(page.Results)
	if page.Fin.Complete || n == 0 {
		it.done = true
		return n > 0
	}
	it.nextAfter = page.Fin.Last
	if it.nextAfter == "" {
		it.nextAfter = page.Results[n-1].ID
	}
	if !it.noPipe {
		it.cur = it.send(ctx, it.nextAfter)
	}
	return true
}

// fetch waits for the current query's <fin/> and collects its results. The
// session queues messages before it delivers a later IQ response, so once
// the <fin/> is in, every result of the page is in the queue: waiting for
// the <fin/> alone wakes this goroutine once per page instead of once per
// result.
func (it *Iterator) fetch(ctx context.Context) (Page, error) {
	cur := it.cur
	if it.q.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, it.q.Timeout)
		defer cancel()
	}
	select {
	case <-cur.done:
		return it.finish(ctx, cur)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && it.q.Timeout > 0 {
			return Page{}, fmt.Errorf("archive query: no complete page within %s: %w", it.q.Timeout, ctx.Err())
		}
		return Page{}, ctx.Err()
	}
}

// accept routes a stanza if it is an archive result.
func (it *Iterator) accept(st stanza.Stanza) error {
	m, ok := st.(*stanza.Message)
	if !ok {
		return nil
	}
	if _, ok := stanza.Find(m.Ext, NS, "result"); !ok {
		return nil
	}
	return it.route(m)
}

// finish drains what the queue holds after the <fin/> and returns the page.
func (it *Iterator) finish(ctx context.Context, cur *inflight) (Page, error) {
	if cur.err != nil {
		return Page{}, queryError(it.q.Archive, cur.afterID, cur.err)
	}
	for {
		st, ok := it.sub.Poll()
		if !ok {
			break
		}
		if err := it.accept(st); err != nil {
			return Page{}, err
		}
	}
	fin, err := ParseFin(cur.resp.Query)
	if err != nil {
		return Page{}, err
	}
	res := it.bufs[cur.qid]
	delete(it.bufs, cur.qid)
	delete(it.seen, cur.qid)
	return Page{Results: res, Fin: *fin}, ctx.Err()
}

// Error is a refused archive query.
type Error struct {
	Archive string
	After   string
	Err     error // the *stanza.Error or transport error
}

func (e *Error) Error() string {
	what := "account archive"
	if e.Archive != "" {
		what = "archive of " + e.Archive
	}
	return fmt.Sprintf("query %s: %v", what, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Condition returns the stanza error condition, or "".
func (e *Error) Condition() stanza.Condition {
	var se *stanza.Error
	if errors.As(e.Err, &se) {
		return se.Condition
	}
	return ""
}

func queryError(archive, after string, err error) error {
	var se *stanza.Error
	if !errors.As(err, &se) {
		return err
	}
	return &Error{Archive: archive, After: after, Err: err}
}

// Page returns the page fetched by the last successful Next.
func (it *Iterator) Page() Page { return it.page }

// Err returns the error that stopped the walk, if any.
func (it *Iterator) Err() error { return it.err }

// Close stops the walk and releases its subscription.
func (it *Iterator) Close() {
	if it.sub != nil {
		it.sub.Close()
	}
}
