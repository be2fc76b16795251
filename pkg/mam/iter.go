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
	// Backward is set for the pages of a converging walk's backward half
	// (Iterator.Converge): they are newer than pages still to come.
	Backward bool
	// Through is the newest result such that it and everything before it
	// (after Query.After) has been returned by now: where a sync may record
	// that it stands. Nil when this page does not move that point (a
	// backward page before the walks meet, an empty page).
	Through *Result
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
	converge bool

	// Queries sent and not yet returned as a page, in the order sent (the
	// order the server answers them in).
	queue []*inflight
	// The forward walk: the id it continues after (the last one it
	// returned, or Query.After).
	fwdLast string
	// The backward walk (converging only): started once the first forward
	// page is not the last; bwdFirst is the oldest id it returned, newest
	// the newest result of its first page (where the sync ends).
	bwdStarted bool
	bwdFirst   string
	newest     *Result

	page   Page
	err    error
	done   bool
	bufs   map[string][]*Result // results by query id, not yet handed out
	seen   map[string]map[string]bool
	Forged int // results ignored because they came from the wrong sender
}

type inflight struct {
	qid      string
	afterID  string
	backward bool
	done     chan struct{}
	resp     *stanza.IQ
	err      error
}

// NewIterator prepares a walk; nothing is sent before the first Next.
func NewIterator(s conn.Session, q Query) *Iterator {
	if q.PageSize <= 0 {
		q.PageSize = DefaultPageSize
	}
	self, _, _ := strings.Cut(s.JID(), "/")
	return &Iterator{s: s, q: q, self: self, pageSize: q.PageSize, fwdLast: q.After,
		bufs: map[string][]*Result{}, seen: map[string]map[string]bool{}}
}

// DisablePipelining sends each page's query only when the caller asks for
// the page, after it has stored the previous one (for measurements and
// for servers that mishandle a query sent while the client is busy). It
// turns Converge off.
func (it *Iterator) DisablePipelining() { it.noPipe = true }

// Converge walks a long archive from both ends at once: once the first
// page (oldest first from Query.After or Query.Start) is not the last, a
// second walk starts at the newest page and goes backwards, the two
// alternate, and the iterator ends where they meet. The server then always
// has the other walk's query queued while the client reads and stores a
// page, so it never waits for the client. Pages then come out of order
// (Page.Backward); Page.Through says how far everything has been returned.
func (it *Iterator) Converge() { it.converge = true }

func (it *Iterator) start() {
	it.sub = it.s.Subscribe()
}

// send queues the query for the page after the id after or, backward,
// the page before the id after ("" = the newest page).
func (it *Iterator) send(ctx context.Context, after string, backward bool) {
	f := &inflight{qid: conn.NewID(), afterID: after, backward: backward, done: make(chan struct{})}
	it.seen[f.qid] = map[string]bool{}
	var before *string
	if backward {
		before = &f.afterID
	}
	iq := stanza.IQ{Type: stanza.SetIQ, To: it.q.Archive, Payload: it.q.request(f.qid, after, before, it.pageSize)}
	go func() {
		defer close(f.done)
		f.resp, f.err = it.s.SendIQ(ctx, iq)
	}()
	it.queue = append(it.queue, f)
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
	}
	if len(it.queue) == 0 {
		it.send(ctx, it.fwdLast, false)
	}
	cur := it.queue[0]
	it.queue = it.queue[1:]
	page, err := it.fetch(ctx, cur)
	var refused *Error
	if err != nil && cur.backward && errors.As(err, &refused) {
		// The server refused the backward walk (its oldest id expired
		// meanwhile, or it mishandles <before/>): the forward walk
		// carries on alone, up to what the backward one returned.
		if len(it.queue) == 0 {
			it.send(ctx, it.fwdLast, false)
		}
		return it.Next(ctx)
	}
	if err != nil {
		it.err = err
		return false
	}
	if cur.backward {
		return it.backward(ctx, page)
	}
	return it.forward(ctx, page)
}

// forward takes a page of the forward walk.
func (it *Iterator) forward(ctx context.Context, page Page) bool {
	n := len(page.Results)
	if it.bwdFirst != "" {
		// The walks meet where this page reaches the oldest result the
		// backward walk returned: the rest of the page was returned by it.
		for i, r := range page.Results {
			if r.ID == it.bwdFirst {
				page.Results = page.Results[:i]
				return it.meet(page)
			}
		}
	}
	if page.Fin.Complete || n == 0 {
		// The end of the archive. A backward walk still under way has
		// returned nothing yet (else this page would have met it).
		it.finish()
		if n > 0 {
			page.Through = page.Results[n-1]
		}
		it.page = page
		return n > 0
	}
	page.Through = page.Results[n-1]
	last := page.Fin.Last
	if last == "" {
		last = page.Results[n-1].ID
	}
	if last == it.fwdLast {
		// The page after X ends at X again: asking on would loop for ever.
		it.err = fmt.Errorf("archive query: the server answered the page after %q with that page again: %w", last, ErrPageRepeated)
		return false
	}
	it.fwdLast = last
	if !it.noPipe {
		it.send(ctx, it.fwdLast, false)
		if it.converge && !it.bwdStarted {
			it.bwdStarted = true
			it.send(ctx, "", true)
		}
	}
	it.page = page
	return true
}

// ErrPageRepeated ends a walk whose server answered the next page with the
// one it had just sent: asking on would loop for ever. It is the server's
// fault, so the command exits as refused by it (cmd/exit.go).
var ErrPageRepeated = errors.New("archive server repeats its pages")

// backward takes a page of the backward walk (oldest first, like all pages).
func (it *Iterator) backward(ctx context.Context, page Page) bool {
	page.Backward = true
	reachedStart := page.Fin.Complete
	page.Fin.Complete = false // it says this walk reached the oldest result
	n := len(page.Results)
	if n == 0 {
		// Nothing before the newest: the archive emptied meanwhile. The
		// forward walk carries on alone.
		it.page = page
		return true
	}
	if it.newest == nil {
		it.newest = page.Results[n-1]
	}
	first := page.Results[0].ID
	// The walks meet where this page reaches the last result the forward
	// walk returned (or the id it started after).
	for i := n - 1; i >= 0; i-- {
		if it.fwdLast != "" && page.Results[i].ID == it.fwdLast {
			page.Results = page.Results[i+1:]
			return it.meet(page)
		}
	}
	if reachedStart {
		// The start of the archive (or of Query.Start) with no forward
		// page in it: only when the forward walk started at the start.
		return it.meet(page)
	}
	if first == it.bwdFirst {
		// The page before X starts at X again: asking on would loop.
		it.err = fmt.Errorf("archive query: the server answered the page before %q with that page again: %w", first, ErrPageRepeated)
		return false
	}
	it.bwdFirst = first
	it.send(ctx, first, true)
	it.page = page
	return true
}

// meet ends a converging walk with page: everything up to the newest
// result has been returned.
func (it *Iterator) meet(page Page) bool {
	it.finish()
	page.Fin.Complete = true
	page.Through = it.newest
	it.page = page
	return true
}

// finish ends the walk: queries still under way are forgotten (their
// results are ignored when they arrive).
func (it *Iterator) finish() {
	it.done = true
	for _, f := range it.queue {
		delete(it.seen, f.qid)
		delete(it.bufs, f.qid)
	}
	it.queue = nil
}

// fetch waits for the current query's <fin/> and collects its results. The
// session queues messages before it delivers a later IQ response, so once
// the <fin/> is in, every result of the page is in the queue: waiting for
// the <fin/> alone wakes this goroutine once per page instead of once per
// result.
func (it *Iterator) fetch(ctx context.Context, cur *inflight) (Page, error) {
	if it.q.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, it.q.Timeout)
		defer cancel()
	}
	select {
	case <-cur.done:
		return it.collect(ctx, cur)
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

// collect drains what the queue holds after the <fin/> and returns the page.
func (it *Iterator) collect(ctx context.Context, cur *inflight) (Page, error) {
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
