package store

import (
	"context"
	"testing"
	"time"
)

// marker is a displayed marker one of alice's devices sent to peer.
func marker(sid, peer, forID string, at int) Message {
	m := msg(sid, "mk"+sid, "alice@example.org/phone", peer, "", at)
	m.Marker, m.MarkerFor = "displayed", forID
	return m
}

func TestUnread(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	for _, m := range []Message{
		// bob: 3 messages, the second displayed on another device: 1 unread.
		msg("b1", "m1", "bob@example.org/x", "alice@example.org", "one", 1),
		msg("b2", "m2", "bob@example.org/x", "alice@example.org", "two", 2),
		msg("b3", "m3", "bob@example.org/x", "alice@example.org", "three", 3),
		marker("bk", "bob@example.org", "m2", 10),
		// carol: never read.
		msg("c1", "c1", "carol@example.org/x", "alice@example.org", "hi", 4),
		msg("c2", "c2", "carol@example.org/x", "alice@example.org", "there", 5),
		// dave: we replied after his message: read.
		msg("d1", "d1", "dave@example.org/x", "alice@example.org", "q?", 1),
		msg("d2", "d2", "alice@example.org/pc", "dave@example.org", "a!", 2),
		// erin: a marker for a message we do not have counts from its own time.
		msg("e1", "e1", "erin@example.org/x", "alice@example.org", "old", 1),
		marker("ek", "erin@example.org", "unknown", 2),
		msg("e2", "e2", "erin@example.org/x", "alice@example.org", "new", 3),
		// gina: the archive stamps whole seconds; store order decides.
		msg("g1", "g1", "gina@example.org/x", "alice@example.org", "g1", 7),
		msg("g2", "g2", "gina@example.org/x", "alice@example.org", "g2", 7),
		msg("g3", "g3", "gina@example.org/x", "alice@example.org", "g3", 7),
		marker("gk", "gina@example.org", "g2", 7),
		// received markers (bob displayed ours) change nothing for us.
		func() Message {
			m := msg("bm", "bm", "bob@example.org/x", "alice@example.org", "", 20)
			m.Marker, m.MarkerFor = "displayed", "d2"
			return m
		}(),
	} {
		put(t, st, m)
	}
	// frank: read up to 2 according to "listen".
	put(t, st, msg("f1", "f1", "frank@example.org/x", "alice@example.org", "f1", 1))
	put(t, st, msg("f3", "f3", "frank@example.org/x", "alice@example.org", "f3", 3))
	if err := st.Update(ctx, func(b *Batch) error {
		return b.MarkRead("alice@example.org", "frank@example.org", t0.Add(2*time.Second), "")
	}); err != nil {
		t.Fatal(err)
	}
	// A room's messages are not one-to-one conversations.
	room := msg("r1", "r1", "room@muc.example.org/bob", "alice@example.org", "in a room", 30)
	room.Archive, room.Type, room.With = "room@muc.example.org", "groupchat", "room@muc.example.org"
	put(t, st, room)

	got, err := st.Unread(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		with   string
		count  int
		newest string
		read   int // seconds after t0; -1 never
	}{
		{"gina@example.org", 1, "g3", 7},
		{"carol@example.org", 2, "there", -1},
		{"bob@example.org", 1, "three", 2},
		{"erin@example.org", 1, "new", 2},
		{"frank@example.org", 1, "f3", 2},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d conversations: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		wantRead := time.Time{}
		if w.read >= 0 {
			wantRead = t0.Add(time.Duration(w.read) * time.Second)
		}
		if g.With != w.with || g.Count != w.count || g.Newest == nil || g.Newest.Body != w.newest || !g.ReadUntil.Equal(wantRead) {
			t.Errorf("%d: got %s %d %v %v, want %+v", i, g.With, g.Count, g.Newest, g.ReadUntil, w)
		}
	}
	if r, err := st.ReadUntil(ctx, "alice@example.org", "bob@example.org"); err != nil || !r.Equal(t0.Add(2*time.Second)) {
		t.Errorf("ReadUntil(bob) = %v %v", r, err)
	}
	if r, err := st.ReadUntil(ctx, "alice@example.org", "carol@example.org"); err != nil || !r.IsZero() {
		t.Errorf("ReadUntil(carol) = %v %v", r, err)
	}
	// Marking bob's newest read (what "archive read" records) clears him.
	put(t, st, marker("bk2", "bob@example.org", "m3", 40))
	got, _ = st.Unread(ctx, "alice@example.org")
	for _, u := range got {
		if u.With == "bob@example.org" {
			t.Errorf("bob still unread: %+v", u)
		}
	}
}
