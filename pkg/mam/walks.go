package mam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A converging walk (Iterator.Converge) is made of forward walks, each over
// a part of the archive, oldest part first, and one backward walk from the
// newest page. Forward walk i+1 starts after an anchor: an id that walk i
// has not reached yet, found by asking for the first result at or after a
// time in between. Walk i ends where it returns that anchor; the last
// forward walk and the backward one end where they meet. Every result is
// thus returned once, by the walk whose part it is in, whatever the order
// the answers arrive in. Anchors are found by time but the walks go by id:
// an archive whose times disagree with its order (a message numbered late)
// costs walking some part twice, never a result.

// fwdWalk is one forward walk.
type fwdWalk struct {
	start *Result // the anchor it started after; nil for the first walk
	after string  // the id it continues after
	last  *Result // the newest result it returned (nil: none yet)
	done  bool    // it reached the next walk's anchor, the backward walk or the end
	atEnd bool    // it reached the end of the archive
}

// stamp is when the walk's position was archived (zero: not known).
func (w *fwdWalk) stamp() time.Time {
	switch {
	case w.last != nil:
		return w.last.Stamp
	case w.start != nil:
		return w.start.Stamp
	}
	return time.Time{}
}

// stale reports a query whose walk has ended meanwhile.
func (it *Iterator) stale(f *inflight) bool {
	if f.walk != nil {
		return f.walk.done
	}
	return it.tailMet // the backward walk has met, or too late to split
}

// refused takes a query the server refused that the first walk does not
// need, and reports whether the walk can carry on without it: an anchor
// (no split there), the backward walk (the last forward one goes on
// alone), or a forward walk whose predecessor has not reached its anchor
// yet (it goes on to the walk after). If the predecessor already has,
// nothing but the refused walk would return what lies after its position:
// the walk ends with the refusal, as when the first walk is refused, and
// Through never claims what was skipped.
func (it *Iterator) refused(f *inflight) bool {
	if f.walk == nil {
		return true
	}
	for i, w := range it.fwd {
		if w != f.walk {
			continue
		}
		if prev := it.fwd[i-1]; prev.done {
			return false
		}
		it.fwd = append(it.fwd[:i], it.fwd[i+1:]...)
		return true
	}
	return true
}

// next is what walk i ends at: the id of the next walk's anchor (which
// walk i returns) or else the oldest result of the backward walk (which
// it does not); "" when there is none yet.
func (it *Iterator) next(i int) (id string, inclusive bool) {
	if i+1 < len(it.fwd) {
		return it.fwd[i+1].start.ID, true
	}
	if it.bwdFirst != nil {
		return it.bwdFirst.ID, false
	}
	return "", false
}

// forward takes a page of forward walk w.
func (it *Iterator) forward(ctx context.Context, w *fwdWalk, page Page) bool {
	i := 0
	for i < len(it.fwd) && it.fwd[i] != w {
		i++
	}
	if id, inclusive := it.next(i); id != "" {
		for j, r := range page.Results {
			if r.ID == id {
				if inclusive {
					j++
				}
				page.Results = page.Results[:j]
				if j > 0 {
					w.last = page.Results[j-1]
				}
				w.done = true
				if !inclusive {
					it.tailMet = true
				}
				it.ended()
				it.page = page
				return true
			}
		}
	}
	n := len(page.Results)
	if n > 0 {
		w.last = page.Results[n-1]
	}
	if i == 0 && it.count < 0 && page.Fin.Count >= 0 {
		it.count = page.Fin.Count
	}
	if page.Fin.Complete || n == 0 {
		// The end of the archive: this walk returned everything after
		// its start, so the walks after it have nothing left to do.
		w.done, w.atEnd = true, true
		for _, later := range it.fwd[i+1:] {
			later.done = true
		}
		it.fwd = it.fwd[:i+1]
		it.tailMet = true
		it.ended()
		it.page = page
		return n > 0
	}
	last := page.Fin.Last
	if last == "" {
		last = page.Results[n-1].ID
	}
	if last == w.after {
		// The page after X ends at X again: asking on would loop for ever.
		it.err = fmt.Errorf("archive query: the server answered the page after %q with that page again: %w", last, ErrPageRepeated)
		return false
	}
	w.after = last
	if !it.noPipe {
		it.send(ctx, &inflight{afterID: w.after, walk: w})
		if f := it.early; f != nil {
			// Sent early (Next), taken now, after this page's successor.
			it.early = nil
			if i := slices.Index(it.queue, f); i >= 0 {
				it.queue = append(append(it.queue[:i:i], it.queue[i+1:]...), f)
			}
		}
		if it.walks > 0 && !it.bwdStarted {
			it.bwdStarted = true
			it.send(ctx, &inflight{backward: true})
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
	n := len(page.Results)
	it.page = page
	if n == 0 {
		// Nothing before the newest: the archive emptied meanwhile. The
		// forward walks carry on alone.
		return true
	}
	if it.newest == nil {
		it.newest = page.Results[n-1]
	}
	// It meets the last forward walk where this page reaches the last
	// result that walk returned (or the id it started after).
	last := it.fwd[len(it.fwd)-1]
	for i := n - 1; i >= 0; i-- {
		if last.after != "" && page.Results[i].ID == last.after {
			it.page.Results = page.Results[i+1:]
			last.done, it.tailMet = true, true
			it.ended()
			return true
		}
	}
	if reachedStart {
		// The start of the archive (or of Query.Start) with no forward
		// page in it: only when the forward walk started at the start.
		for _, w := range it.fwd {
			w.done = true
		}
		it.tailMet = true
		it.ended()
		return true
	}
	first := page.Results[0]
	if it.bwdFirst != nil && first.ID == it.bwdFirst.ID {
		// The page before X starts at X again: asking on would loop.
		it.err = fmt.Errorf("archive query: the server answered the page before %q with that page again: %w", first.ID, ErrPageRepeated)
		return false
	}
	it.bwdFirst = first
	it.send(ctx, &inflight{afterID: first.ID, backward: true})
	it.splitOnce(ctx)
	return true
}

// ended finishes the whole walk once every part of it has.
func (it *Iterator) ended() {
	for _, w := range it.fwd {
		if !w.done {
			return
		}
		if w.atEnd {
			break
		}
	}
	if it.tailMet {
		it.finish()
	}
}

// reached is the newest result such that everything up to it has been
// returned: the forward walks' positions, as far as they are done, then
// the newest result once the backward walk has met them.
func (it *Iterator) reached() *Result {
	var t *Result
	for _, w := range it.fwd {
		if w.last != nil {
			t = w.last
		}
		if !w.done || w.atEnd {
			return t
		}
	}
	if it.tailMet && it.newest != nil {
		return it.newest
	}
	return t
}

// walkPages is the least number of pages left for each forward walk the
// split adds: fewer would cost more in anchor queries than it saves.
const walkPages = 8

// splitOnce adds forward walks between the first one and the backward one
// (once both have a page), as many as the walks allowed and the results
// left justify, each starting after an anchor asked for by time: evenly
// spaced between the two walks' positions.
func (it *Iterator) splitOnce(ctx context.Context) {
	if it.split || it.noPipe {
		return
	}
	it.split = true
	extra := it.walks - 2
	if it.count >= 0 {
		extra = min(extra, (it.count-it.returned)/it.pageSize/walkPages-1)
	} else {
		extra = 0 // nothing says the archive is long
	}
	from, to := it.fwd[0].stamp(), it.bwdFirst.Stamp
	if extra <= 0 || from.IsZero() || !to.After(from) {
		return
	}
	span := to.Sub(from)
	for k := 1; k <= extra; k++ {
		at := from.Add(span * time.Duration(k) / time.Duration(extra+1))
		it.send(ctx, &inflight{anchor: at})
	}
}

// anchored starts a forward walk after the result an anchor query found,
// if it lies after the last forward walk's position and before the
// backward walk's (by time: the walks are ordered by it).
func (it *Iterator) anchored(ctx context.Context, page Page) {
	if len(page.Results) == 0 || it.tailMet {
		return
	}
	x := page.Results[0]
	last := it.fwd[len(it.fwd)-1]
	if last.done || !x.Stamp.After(last.stamp()) || (it.bwdFirst != nil && !x.Stamp.Before(it.bwdFirst.Stamp)) {
		return
	}
	w := &fwdWalk{start: x, after: x.ID}
	it.fwd = append(it.fwd, w)
	it.send(ctx, &inflight{afterID: w.after, walk: w})
}
