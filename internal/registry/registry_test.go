package registry

import (
	"fmt"
	"sync"
	"testing"
)

type item struct{ name string }

func TestMap(t *testing.T) {
	var r Map[*item]
	a, b := &item{"a"}, &item{"b"}
	if _, ok := r.Get("bob@example.org/x", "s1"); ok {
		t.Fatal("Get on an empty map found something")
	}
	r.Set("bob@example.org/x", "s1", a)
	for _, tt := range []struct {
		peer, sid string
		want      *item
	}{
		{"bob@example.org/x", "s1", a},
		{"bob@example.org/y", "s1", nil}, // another resource, same sid
		{"bob@example.org/x", "s2", nil},
		{"bob@example.org/x/s", "1", nil}, // no ambiguity from joining the parts
	} {
		got, ok := r.Get(tt.peer, tt.sid)
		if got != tt.want || ok != (tt.want != nil) {
			t.Errorf("Get(%q, %q) = %v, %v; want %v", tt.peer, tt.sid, got, ok, tt.want)
		}
	}
	if got, loaded := r.LoadOrStore("bob@example.org/x", "s1", b); got != a || !loaded {
		t.Errorf("LoadOrStore on a taken key = %v, %v; want the old value, true", got, loaded)
	}
	if got, loaded := r.LoadOrStore("bob@example.org/x", "s2", b); got != b || loaded {
		t.Errorf("LoadOrStore on a free key = %v, %v; want the new value, false", got, loaded)
	}
	if r.Remove("bob@example.org/x", "s1", b) {
		t.Error("Remove of another value removed the entry")
	}
	if !r.Remove("bob@example.org/x", "s1", a) {
		t.Error("Remove of the stored value did not remove it")
	}
	r.Delete("bob@example.org/x", "s2")
	if n := r.Len(); n != 0 {
		t.Errorf("Len() = %d after removing everything, want 0", n)
	}
}

// TestMapConcurrent is for -race: sessions come and go from many
// goroutines (IQ handlers run concurrently), and a finished session must
// never remove the one that took its key after it.
func TestMapConcurrent(t *testing.T) {
	var r Map[*item]
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			peer := fmt.Sprintf("peer%d@example.org/r", w%2) // two workers per peer
			for i := range rounds {
				sid := fmt.Sprintf("s%d-%d", w, i)
				v := &item{sid}
				if _, loaded := r.LoadOrStore(peer, sid, v); loaded {
					t.Errorf("sid %s of %s taken before it was stored", sid, peer)
				}
				if got, ok := r.Get(peer, sid); !ok || got != v {
					t.Errorf("Get(%s, %s) = %v, %v; want what was stored", peer, sid, got, ok)
				}
				// Another worker's session on the shared key replaces and
				// removes only its own.
				shared := &item{"shared"}
				r.Set(peer, "shared", shared)
				r.Remove(peer, "shared", shared)
				if !r.Remove(peer, sid, v) {
					t.Errorf("Remove(%s, %s) did not remove the stored value", peer, sid)
				}
			}
		}()
	}
	wg.Wait()
	if n := r.Len(); n != 0 {
		t.Errorf("Len() = %d after every session ended, want 0", n)
	}
}
