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
	full     int    // results that make a full page (learned from the server's cap)
	noPipe   bool

	cur    *inflight
	next   *inflight
	page   Page
	err    error
	done   bool
	bufs   map[string][]*Result // results by query id, not yet handed out
	seen   map[string]map[string]bool
	Forged int // results ignored because they came from the wrong sender
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
	return &Iterator{s: s, q: q, self: self, pageSize: q.PageSize, full: q.PageSize,
		bufs: map[string][]*Result{}, seen: map[string]map[string]bool{}}
}

// DisablePipelining makes every page wait for the previous page's <fin/>
// (for measurements and for servers that mishandle queued queries).
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
func (it *Iterator) Next(ctx context.Context) bool {
	if it.done || it.err != nil {
		return false
	}
	if it.sub == nil {
		it.start()
		it.cur = it.send(ctx, it.q.After)
	}
	page, err := it.fetch(ctx)
	if err != nil {
		it.err = err
		return false
	}
	it.page = page
	n := len(page.Results)
	switch {
	case page.Fin.Complete || n == 0:
		it.done = true
		it.drop(it.next)
		it.next = nil
	case n < it.pageSize && n > 0:
		it.full = n // the server capped the page size
	}
	if !it.done {
		last := page.Fin.Last
		if last == "" {
			last = page.Results[n-1].ID
		}
		if it.next == nil || it.next.after() != last {
			it.drop(it.next)
			it.next = it.send(ctx, last)
		}
		it.cur, it.next = it.next, nil
	}
	return n > 0 || !it.done
}

func (f *inflight) after() string {
	if f == nil {
		return ""
	}
	return f.afterID
}

// drop forgets a speculative query that turned out not to be needed; its
// response still arrives and is ignored.
func (it *Iterator) drop(f *inflight) {
	if f != nil {
		delete(it.seen, f.qid)
		delete(it.bufs, f.qid)
	}
}

// fetch collects the current query's results until its <fin/> has
// arrived, sending the next query early when the page is full. The
// session queues messages before it delivers a later IQ response, so once
// the <fin/> is in, every result of the page is in the queue.
func (it *Iterator) fetch(base context.Context) (Page, error) {
	cur := it.cur
	ctx := base // queries sent from here outlive this call: they use base
	if it.q.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, it.q.Timeout)
		defer cancel()
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-cur.done:
			stop()
		case <-wctx.Done():
		}
	}()
	for {
		st, err := it.sub.Next(wctx)
		if err != nil {
			select {
			case <-cur.done:
				return it.finish(ctx, cur)
			default:
			}
			if ctx.Err() != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) && it.q.Timeout > 0 {
					return Page{}, fmt.Errorf("archive query: no complete page within %s: %w", it.q.Timeout, ctx.Err())
				}
				return Page{}, ctx.Err()
			}
			return Page{}, fmt.Errorf("archive query: %w", err)
		}
		if err := it.accept(st); err != nil {
			return Page{}, err
		}
		res := it.bufs[cur.qid]
		if !it.noPipe && it.next == nil && len(res) >= it.full {
			it.next = it.send(base, res[len(res)-1].ID)
		}
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
