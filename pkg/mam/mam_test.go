package mam_test

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/mam/mamtest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func walk(t *testing.T, s *xmpptest.Session, q mam.Query, pipe bool) ([]*mam.Result, []mam.Page, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := mam.NewIterator(s, q)
	if !pipe {
		it.DisablePipelining()
	}
	defer it.Close()
	var all []*mam.Result
	var pages []mam.Page
	for it.Next(ctx) {
		pages = append(pages, it.Page())
		all = append(all, it.Page().Results...)
	}
	return all, pages, it.Err()
}

func TestIteratorWalksAllPages(t *testing.T) {
	for _, tt := range []struct {
		name           string
		n, max, ask    int
		pipe           bool
		wantPages      int
		wantQueriesMin int
	}{
		{"pipelined, exact multiple", 100, 25, 25, true, 4, 4},
		{"pipelined, remainder", 101, 25, 25, true, 5, 5},
		{"server caps the page", 60, 20, 250, true, 3, 3},
		{"not pipelined", 60, 25, 25, false, 3, 3},
		{"empty archive", 0, 25, 25, true, 0, 1},
		{"one page", 7, 25, 25, true, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := xmpptest.New()
			a := &mamtest.Archive{MaxPage: tt.max}
			a.Add(mamtest.Chat(tt.n, "bob@example.org/x", "user@example.org", "m", t0)...)
			a.Serve(s)
			got, pages, err := walk(t, s, mam.Query{PageSize: tt.ask}, tt.pipe)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n {
				t.Fatalf("%d results, want %d", len(got), tt.n)
			}
			for i, r := range got {
				if want := mamtest.Chat(tt.n, "", "", "m", t0)[i].ID; r.ID != want {
					t.Fatalf("result %d is %s, want %s (order or duplicates)", i, r.ID, want)
				}
				if !r.Stamp.Equal(t0.Add(time.Duration(i)*time.Second)) || r.Message.Body == "" || r.Message.To != "user@example.org" {
					t.Fatalf("result %d: %+v %+v", i, r, r.Message)
				}
			}
			nonEmpty := 0
			for _, p := range pages {
				if len(p.Results) > 0 {
					nonEmpty++
				}
			}
			if nonEmpty != tt.wantPages {
				t.Errorf("%d pages, want %d", nonEmpty, tt.wantPages)
			}
			if q := len(a.Queries()); q < tt.wantQueriesMin || q > tt.wantQueriesMin+1 {
				t.Errorf("%d queries, want %d (+1 speculative)", q, tt.wantQueriesMin)
			}
		})
	}
}

func TestIteratorContinuesAfterAndFilters(t *testing.T) {
	s := xmpptest.New()
	a := &mamtest.Archive{MaxPage: 10}
	a.Add(mamtest.Chat(30, "bob@example.org/x", "user@example.org", "m", t0)...)
	a.Serve(s)
	got, _, err := walk(t, s, mam.Query{After: "sid-m-19", With: "bob@example.org", Start: t0, PageSize: 10, Timeout: 5 * time.Second}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].ID != "sid-m-20" {
		t.Fatalf("got %d results from %v", len(got), got)
	}
	q := a.Queries()[0]
	if q.After != "sid-m-19" || q.With != "bob@example.org" || q.Start != "2024-05-01T10:00:00Z" || q.Max != 10 {
		t.Errorf("first query %+v", q)
	}
}

func TestIteratorIgnoresForgedResults(t *testing.T) {
	s := xmpptest.New()
	a := &mamtest.Archive{MaxPage: 10, Forge: "mallory@example.org"}
	a.Add(mamtest.Chat(15, "bob@example.org/x", "user@example.org", "m", t0)...)
	a.Serve(s)
	ctx := context.Background()
	it := mam.NewIterator(s, mam.Query{PageSize: 10})
	defer it.Close()
	n := 0
	for it.Next(ctx) {
		n += len(it.Page().Results)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 15 || it.Forged == 0 {
		t.Fatalf("%d results, %d forged; want 15 and some forged seen", n, it.Forged)
	}
}

func TestIteratorRoomArchive(t *testing.T) {
	s := xmpptest.New()
	room := "dev@conference.example.org"
	a := &mamtest.Archive{From: room}
	a.Add(mamtest.Chat(3, room+"/bob", room, "m", t0)...)
	a.Serve(s)
	got, _, err := walk(t, s, mam.Query{Archive: room}, true)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d results, %v", len(got), err)
	}
	// A result from the room is forged for the account archive.
	got, _, _ = walk(t, s, mam.Query{}, true)
	if len(got) != 0 {
		t.Fatalf("account archive accepted %d results from a room", len(got))
	}
}

func TestIteratorItemNotFound(t *testing.T) {
	s := xmpptest.New()
	a := &mamtest.Archive{}
	a.Add(mamtest.Chat(3, "bob@example.org/x", "user@example.org", "m", t0)...)
	a.Serve(s)
	_, _, err := walk(t, s, mam.Query{After: "gone"}, true)
	var me *mam.Error
	if !errors.As(err, &me) || me.Condition() != "item-not-found" || me.After != "gone" {
		t.Fatalf("err = %v, want item-not-found for after=gone", err)
	}
	var se *stanza.Error
	if !errors.As(err, &se) {
		t.Error("the stanza error is not reachable with errors.As")
	}
}

func TestQueryGolden(t *testing.T) {
	s := xmpptest.New()
	(&mamtest.Archive{}).Serve(s)
	_, _, err := walk(t, s, mam.Query{Archive: "room@muc.example.org", With: "bob@example.org",
		Start: t0, End: t0.Add(time.Hour), After: "", PageSize: 100}, true)
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	got := []byte(sent[0] + "\n")
	// The ids are random: normalise them.
	var iq struct {
		ID    string `xml:"id,attr"`
		Query struct {
			QueryID string `xml:"queryid,attr"`
		} `xml:"query"`
	}
	if err := xml.Unmarshal([]byte(sent[0]), &iq); err != nil {
		t.Fatal(err)
	}
	got = []byte(replaceAll(string(got), iq.ID, "IQID", iq.Query.QueryID, "QUERYID"))
	golden := filepath.Join("testdata", "query.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("query:\n%s\nwant:\n%s", got, want)
	}
}

func replaceAll(s string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		for {
			j := indexOf(s, pairs[i])
			if j < 0 || pairs[i] == "" {
				break
			}
			s = s[:j] + pairs[i+1] + s[j+len(pairs[i]):]
		}
	}
	return s
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// converged is what a converging walk returned.
type converged struct {
	got     map[string]int // times each id was returned
	through *mam.Result    // the last Through
	pages   int
	back    bool // some page came from the backward walk
	err     error
}

// converge walks a's archive with Iterator.Converge(walks), checking after
// every page what a sync relies on: everything from items[first] up to
// Through (in archive order) has been returned by then, Through never
// moves back, results come oldest first, and only the last page says
// complete. onPage runs after each page.
func converge(t *testing.T, s *xmpptest.Session, q mam.Query, walks int, items []mamtest.Item, first int,
	onPage func(mam.Page)) converged {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := mam.NewIterator(s, q)
	it.Converge(walks)
	defer it.Close()
	pos := map[string]int{}
	for i, item := range items {
		pos[item.ID] = i
	}
	c := converged{got: map[string]int{}}
	complete := false
	for it.Next(ctx) {
		p := it.Page()
		c.pages++
		if complete {
			t.Fatalf("page %d after the complete one", c.pages)
		}
		complete = p.Fin.Complete
		c.back = c.back || p.Backward
		for i, r := range p.Results {
			c.got[r.ID]++
			if i > 0 && pos[r.ID] <= pos[p.Results[i-1].ID] {
				t.Fatalf("page %d not in archive order", c.pages)
			}
		}
		if p.Through != nil {
			if c.through != nil && pos[p.Through.ID] < pos[c.through.ID] {
				t.Fatalf("page %d moved Through back from %s to %s", c.pages, c.through.ID, p.Through.ID)
			}
			c.through = p.Through
			for _, item := range items[first : pos[p.Through.ID]+1] {
				if c.got[item.ID] == 0 {
					t.Fatalf("page %d: Through is %s but %s was not returned yet", c.pages, p.Through.ID, item.ID)
				}
			}
		}
		if onPage != nil {
			onPage(p)
		}
	}
	c.err = it.Err()
	if c.err == nil && c.pages > 0 && !complete {
		t.Fatal("the walk ended without a complete page")
	}
	return c
}

// TestIteratorConverges walks archives from several places at once
// (Iterator.Converge with 2, 4 and 6 walks): every result exactly once
// whatever the archive's size, the page size and the number of walks, the
// sync point invariant after every page (converge), the last page carries
// the newest result as Through, and the server gets at most one query
// more per walk (and one per anchor) than pages it returns.
func TestIteratorConverges(t *testing.T) {
	for _, tt := range []struct {
		name     string
		n, max   int
		after    int // index of the item to continue after; -1 = from the oldest
		growAt   int // 1: the archive grows by 5 once the first backward page is in
		wantBack bool
		split    bool // with 4 or more walks, forward walks start from anchors
	}{
		{"empty", 0, 10, -1, 0, false, false},
		{"one page", 7, 10, -1, 0, false, false},
		{"exact page", 10, 10, -1, 0, false, false},
		{"two pages", 20, 10, -1, 0, false, false}, // the second forward page ends it first
		{"odd remainder", 101, 10, -1, 0, true, false},
		{"long, page 25", 1000, 25, -1, 0, true, true},
		{"long, page 7", 1001, 7, -1, 0, true, true},
		{"continues after", 95, 10, 30, 0, true, false},
		{"continues after, long", 600, 10, 30, 0, true, true},
		{"after the newest", 40, 10, 39, 0, false, false},
		{"grows while walking", 80, 10, -1, 1, true, false},
		{"grows while walking, long", 500, 10, -1, 1, true, true},
	} {
		for _, walks := range []int{2, 4, 6} {
			t.Run(fmt.Sprintf("%s/%d walks", tt.name, walks), func(t *testing.T) {
				s := xmpptest.New()
				a := &mamtest.Archive{MaxPage: tt.max}
				items := mamtest.Chat(tt.n+5, "bob@example.org/x", "user@example.org", "m", t0)
				a.Add(items[:tt.n]...)
				a.Serve(s)
				q := mam.Query{PageSize: tt.max}
				if tt.after >= 0 {
					q.After = items[tt.after].ID
				}
				grown := false
				c := converge(t, s, q, walks, items, tt.after+1, func(p mam.Page) {
					if p.Backward && tt.growAt > 0 && !grown {
						// Newer than the newest page the backward walk
						// started from (its first page is in): left for
						// the next walk after Through, which must return
						// exactly these.
						grown = true
						a.Add(items[tt.n:]...)
					}
				})
				if c.err != nil {
					t.Fatal(c.err)
				}
				want := items[tt.after+1 : tt.n]
				for _, w := range want {
					if c.got[w.ID] != 1 {
						t.Errorf("%s returned %d times", w.ID, c.got[w.ID])
					}
				}
				if len(c.got) != len(want) {
					t.Errorf("%d distinct results, want %d", len(c.got), len(want))
				}
				if len(want) > 0 && (c.through == nil || c.through.ID != items[tt.n-1].ID) {
					t.Errorf("walk ends Through %v, want %s", c.through, items[tt.n-1].ID)
				}
				if c.back != tt.wantBack {
					t.Errorf("backward pages: %v, want %v", c.back, tt.wantBack)
				}
				anchors := 0
				for _, q := range a.Queries() {
					if q.Start != "" {
						anchors++
					}
				}
				if split := anchors > 0; split != (tt.split && walks > 2) {
					t.Errorf("%d anchor queries; want a split: %v", anchors, tt.split && walks > 2)
				}
				if anchors > walks-2 {
					t.Errorf("%d anchor queries for %d walks", anchors, walks)
				}
				if qs := len(a.Queries()); qs > c.pages+walks+anchors {
					t.Errorf("%d queries for %d pages", qs, c.pages)
				}
				if tt.growAt > 0 {
					rest, _, err := walk(t, s, mam.Query{PageSize: tt.max, After: c.through.ID}, true)
					if err != nil || len(rest) != 5 || rest[0].ID != items[tt.n].ID {
						t.Errorf("the next walk after %s got %d results (%v)", c.through.ID, len(rest), err)
					}
				}
			})
		}
	}
}

// TestIteratorConvergeHostile: archives whose times disagree with their
// order (ids numbered late, stamps made up: anchors found by time land
// anywhere), and servers that refuse time filters or a later walk's
// queries. A walk may then return some results twice, but never loses one,
// keeps the sync point invariant (converge) and ends at the newest result.
func TestIteratorConvergeHostile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(a *mamtest.Archive, items []mamtest.Item)
	}{
		{"stamps shuffled", func(a *mamtest.Archive, items []mamtest.Item) {
			r := rand.New(rand.NewPCG(1, 2))
			for i := range items {
				items[i].Stamp = t0.Add(time.Duration(r.IntN(len(items))) * time.Second)
			}
		}},
		{"stamps reversed", func(a *mamtest.Archive, items []mamtest.Item) {
			for i := range items {
				items[i].Stamp = t0.Add(time.Duration(len(items)-i) * time.Second)
			}
		}},
		{"one late message", func(a *mamtest.Archive, items []mamtest.Item) {
			items[len(items)/2].Stamp = t0.Add(-time.Hour)
		}},
		{"time filters refused", func(a *mamtest.Archive, _ []mamtest.Item) { a.RefuseStart = true }},
		{"later walks refused", func(a *mamtest.Archive, _ []mamtest.Item) { a.RefuseAfterAnchor = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := xmpptest.New()
			a := &mamtest.Archive{MaxPage: 10}
			items := mamtest.Chat(400, "bob@example.org/x", "user@example.org", "m", t0)
			tc.setup(a, items)
			a.Add(items...)
			a.Serve(s)
			c := converge(t, s, mam.Query{PageSize: 10}, 6, items, 0, nil)
			if c.err != nil {
				t.Fatal(c.err)
			}
			for _, w := range items {
				if c.got[w.ID] == 0 {
					t.Errorf("%s never returned", w.ID)
				}
			}
			if c.through == nil || c.through.ID != items[len(items)-1].ID {
				t.Errorf("walk ends Through %v, want the newest", c.through)
			}
		})
	}
}

// TestIteratorConvergeBackwardRefused: when the server refuses the
// backward walk after its first page, the forward walk returns the rest
// and the walk still ends at the newest result, each result once.
func TestIteratorConvergeBackwardRefused(t *testing.T) {
	s := xmpptest.New()
	a := &mamtest.Archive{MaxPage: 10, RefuseBefore: true}
	items := mamtest.Chat(95, "bob@example.org/x", "user@example.org", "m", t0)
	a.Add(items...)
	a.Serve(s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := mam.NewIterator(s, mam.Query{PageSize: 10})
	it.Converge(0)
	defer it.Close()
	got := map[string]int{}
	var through *mam.Result
	back := false
	for it.Next(ctx) {
		p := it.Page()
		back = back || p.Backward
		for _, r := range p.Results {
			got[r.ID]++
		}
		if p.Through != nil {
			through = p.Through
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	for _, w := range items {
		if got[w.ID] != 1 {
			t.Errorf("%s returned %d times", w.ID, got[w.ID])
		}
	}
	if !back || through == nil || through.ID != items[94].ID {
		t.Errorf("backward pages %v, walk ends Through %v", back, through)
	}
}

// TestIteratorConvergeRefusedMidway: the server refuses to go on after
// some ids, whichever walk asks, at whatever point of the walk (an id that
// expired meanwhile, a broken server). The walk either ends with an error
// or returns everything; it never reports a gap as walked (the invariant
// checked after every page by converge): a walk that had already ended at
// a refused walk's anchor starts again from there.
func TestIteratorConvergeRefusedMidway(t *testing.T) {
	items := mamtest.Chat(400, "bob@example.org/x", "user@example.org", "m", t0)
	errs, completes := 0, 0
	for k := 21; k < 400; k += 7 {
		s := xmpptest.New()
		a := &mamtest.Archive{MaxPage: 10, RefuseAfter: map[string]bool{items[k].ID: true}}
		a.Add(items...)
		a.Serve(s)
		c := converge(t, s, mam.Query{PageSize: 10}, 6, items, 0, nil)
		if c.err != nil {
			var me *mam.Error
			if !errors.As(c.err, &me) || me.Condition() != stanza.ItemNotFound {
				t.Fatalf("refused after %s: %v", items[k].ID, c.err)
			}
			errs++
			continue
		}
		completes++
		for _, w := range items {
			if c.got[w.ID] == 0 {
				t.Fatalf("refused after %s: %s never returned", items[k].ID, w.ID)
			}
		}
	}
	t.Logf("%d walks ended with the refusal, %d returned everything", errs, completes)
}

// A server that answers the next page with the same page again (hostile or
// broken) must end the walk with an error, not loop for ever: forward
// alone, converging (the forward walk repeats), and converging with only
// the backward walk repeating.
func TestIteratorStuckServer(t *testing.T) {
	for _, tc := range []struct {
		name               string
		stuck, stuckBefore bool
		converge           bool
		want               string
	}{
		{"forward", true, false, false, "page after"},
		{"converging", true, false, true, "page after"},
		{"backward", false, true, true, "page before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := xmpptest.New()
			a := &mamtest.Archive{MaxPage: 10, Stuck: tc.stuck, StuckBefore: tc.stuckBefore}
			a.Add(mamtest.Chat(95, "bob@example.org/x", "user@example.org", "m", t0)...)
			a.Serve(s)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			it := mam.NewIterator(s, mam.Query{PageSize: 10})
			if tc.converge {
				it.Converge(0)
			}
			defer it.Close()
			pages := 0
			for it.Next(ctx) {
				if pages++; pages > 20 {
					t.Fatal("still walking after 20 pages of a 10-page archive")
				}
			}
			if err := it.Err(); err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, mam.ErrPageRepeated) {
				t.Fatalf("err = %v, want one about the %s", err, tc.want)
			}
			if ctx.Err() != nil {
				t.Fatal("ended by the test's deadline, not by the iterator")
			}
		})
	}
}

// A converging walk from the start of the archive asks for the newest page
// together with the first one, not once the first page is in: so even an
// archive of one page gets that query (its answer ignored). One that
// continues after an id (a sync from a sync point, most often one page)
// waits for its first page. Either way every result comes once.
func TestIteratorAsksNewestAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		after int // index to continue after; -1 = from the start
		early bool
	}{
		{"one page from the start", 7, -1, true},
		{"long, from the start", 100, -1, true},
		{"one page after an id", 37, 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := xmpptest.New()
			a := &mamtest.Archive{MaxPage: 10}
			items := mamtest.Chat(tc.n, "bob@example.org/x", "user@example.org", "m", t0)
			a.Add(items...)
			a.Serve(s)
			q := mam.Query{PageSize: 10}
			if tc.after >= 0 {
				q.After = items[tc.after].ID
			}
			it := mam.NewIterator(s, q)
			it.Converge(2)
			ctx := context.Background()
			seen := map[string]int{}
			for it.Next(ctx) {
				for _, r := range it.Page().Results {
					seen[r.ID]++
				}
			}
			it.Close()
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			want := tc.n - tc.after - 1
			if tc.after < 0 {
				want = tc.n
			}
			if len(seen) != want {
				t.Errorf("%d results, want %d", len(seen), want)
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("%s returned %d times", id, k)
				}
			}
			// The early query goes out from a goroutine of its own, with
			// nothing to wait on once the walk has ended: polled, bounded.
			newest := false
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				for _, q := range a.Queries() {
					newest = newest || q.Before != nil && *q.Before == ""
				}
				if newest || !tc.early || time.Now().After(deadline) {
					break
				}
			}
			if newest != tc.early {
				t.Errorf("asked for the newest page: %v, want %v (queries %+v)", newest, tc.early, a.Queries())
			}
		})
	}
}
