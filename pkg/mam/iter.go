package mam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// DefaultPageSize is the page size asked for when none is given; servers
// cap it (Prosody's max_archive_query_results defaults to 50, the test
// server allows 250).
const DefaultPageSize = 250

// DefaultWalks is how many walks a converging walk of a long archive
// keeps under way at once (Iterator.Converge): the backward one and up to
// DefaultWalks-1 forward ones. Prosody answers the queries it has in one
// pass of its loop and then sends all the answers together; with only two
// queries queued it then sat idle while the client read the first answer
// (about a quarter of a sync's wall time, bench/archive.sh).
const DefaultWalks = 4

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
	// page of a later walk while an earlier one is still under way, an
	// empty page).
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
	walks    int // 0: one forward walk; else Converge's number of walks

	// Queries sent and not yet returned as a page, in the order sent (each
	// one's answer is waited for on its own: the order does not matter).
	queue []*inflight
	// The forward walks, oldest part of the archive first (walks.go).
	fwd []*fwdWalk
	// The backward walk (converging only): started once the first forward
	// page is not the last, or from the start of the archive with the
	// first forward query (early); bwdFirst is the oldest result it returned,
	// newest the newest result of its first page (where the sync ends).
	bwdStarted bool
	// early is the backward walk's first query when Next sent it with the
	// first forward one, until the first forward page has been taken.
	early    *inflight
	bwdFirst *Result
	newest   *Result
	tailMet  bool // the newest end is covered: the backward walk met the last forward one, or a forward walk reached the end
	split    bool // the walk was split (or found too short to split)
	count    int  // the first page's RSM count: -1 when not said
	returned int  // results returned so far
	through  *Result

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
	walk     *fwdWalk  // the forward walk it continues; nil for the others
	anchor   time.Time // an anchor query (split): the first result from then
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
	return &Iterator{s: s, q: q, self: self, pageSize: q.PageSize, fwd: []*fwdWalk{{after: q.After}},
		count: -1, bufs: map[string][]*Result{}, seen: map[string]map[string]bool{}}
}

// DisablePipelining sends each page's query only when the caller asks for
// the page, after it has stored the previous one (for measurements and
// for servers that mishandle a query sent while the client is busy). It
// turns Converge off.
func (it *Iterator) DisablePipelining() { it.noPipe = true }

// Converge walks a long archive from several places at once, with up to
// walks (at least 2; 0 = DefaultWalks) queries under way: once the first
// page (oldest first from Query.After or Query.Start) is not the last, a
// second walk starts at the newest page and goes backwards; once that one
// has its first page and enough remains in between, further forward walks
// start from ids found by time in between (walks.go). Each walk ends where
// it reaches the next one. The server then always has another walk's
// query queued while the client reads and stores a page, so it never
// waits for the client. Pages then come out of order (Page.Backward);
// Page.Through says how far everything has been returned.
func (it *Iterator) Converge(walks int) {
	if walks <= 0 {
		walks = DefaultWalks
	}
	it.walks = max(walks, 2)
}

func (it *Iterator) start() {
	it.sub = it.s.Subscribe()
}

// send queues the query for the page after the id after or, backward,
// the page before the id after ("" = the newest page); an anchor query
// (f.anchor set) asks for the first result at or after that time.
func (it *Iterator) send(ctx context.Context, f *inflight) {
	f.qid, f.done = conn.NewID(), make(chan struct{})
	it.seen[f.qid] = map[string]bool{}
	q, max := it.q, it.pageSize
	var before *string
	switch {
	case f.backward:
		before = &f.afterID
	case !f.anchor.IsZero():
		q.Start, max = f.anchor, 1
	}
	iq := stanza.IQ{Type: stanza.SetIQ, To: it.q.Archive, Payload: q.request(f.qid, f.afterID, before, max)}
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
	if it.sub == nil {
		it.start()
	}
	for !it.done && it.err == nil {
		if len(it.queue) == 0 {
			// Without pipelining, or (never, by the walks' rules: each
			// open walk keeps one query under way) with nothing asked.
			i := slices.IndexFunc(it.fwd, func(w *fwdWalk) bool { return !w.done })
			if i < 0 {
				it.err = errors.New("archive query: no walk left to finish the archive")
				return false
			}
			it.send(ctx, &inflight{afterID: it.fwd[i].after, walk: it.fwd[i]})
			if it.walks > 0 && !it.noPipe && !it.bwdStarted && it.q.After == "" {
				// A walk from the start of the archive (a first sync,
				// typically long) asks for the newest page at once: the
				// server would otherwise sit idle while the first page
				// comes back (issue 16). The answer is taken in the
				// order it would have been asked in (forward); after a
				// first page that is the whole archive it is ignored.
				it.bwdStarted = true
				it.early = &inflight{backward: true}
				it.send(ctx, it.early)
			}
		}
		cur := it.queue[0]
		it.queue = it.queue[1:]
		if it.stale(cur) {
			// Its walk has ended meanwhile: what it brings is ignored.
			it.forget(cur)
			continue
		}
		page, err := it.fetch(ctx, cur)
		var refused *Error
		if err != nil && cur.walk != it.fwd[0] && errors.As(err, &refused) && it.refused(cur) {
			// The server refused a walk the others can do without: an
			// anchor, a later forward walk or the backward one (an id
			// expired meanwhile, or it mishandles <before/> or time
			// filters).
			continue
		}
		if err != nil {
			it.err = err
			return false
		}
		var ok bool
		switch {
		case !cur.anchor.IsZero():
			it.anchored(ctx, page)
		case cur.backward:
			ok = it.backward(ctx, page)
		default:
			ok = it.forward(ctx, cur.walk, page)
		}
		if ok {
			it.finishPage()
			return true
		}
	}
	return false
}

// finishPage sets what every returned page says about the whole walk.
func (it *Iterator) finishPage() {
	it.returned += len(it.page.Results)
	it.page.Fin.Complete = it.done
	if t := it.reached(); t != nil && t != it.through {
		it.through, it.page.Through = t, t
	} else {
		it.page.Through = nil
	}
}

// forget drops a query: results still to come for it are ignored.
func (it *Iterator) forget(f *inflight) {
	delete(it.seen, f.qid)
	delete(it.bufs, f.qid)
}

// finish ends the walk: queries still under way are forgotten (their
// results are ignored when they arrive).
func (it *Iterator) finish() {
	it.done = true
	for _, f := range it.queue {
		it.forget(f)
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
