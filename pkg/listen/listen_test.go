package listen

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/mam/mamtest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

type harness struct {
	s      *xmpptest.Session
	st     *store.Store
	l      *Listener
	mu     sync.Mutex
	events []Event
	more   chan struct{} // a token after each event
	synced int           // barriers delivered so far
	warns  []string
	now    time.Time
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, a *mamtest.Archive, prefill func(*store.Store), opts ...func(*Options)) *harness {
	t.Helper()
	h := &harness{s: xmpptest.New(), now: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), done: make(chan error, 1),
		more: make(chan struct{}, 1)}
	h.s.Full = "user@example.org/listen"
	if a != nil {
		a.Serve(h.s)
	}
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	if prefill != nil {
		prefill(st)
	}
	h.l = New(Options{Self: archive.Self{Account: "user@example.org"}, Store: st, QuietPeriod: time.Minute,
		Now: func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now },
		OnEvent: func(ev Event) {
			h.mu.Lock()
			h.events = append(h.events, ev)
			h.mu.Unlock()
			select {
			case h.more <- struct{}{}:
			default:
			}
		},
		Warn: func(f string, args ...any) { h.mu.Lock(); h.warns = append(h.warns, f); h.mu.Unlock() }})
	for _, o := range opts {
		o(&h.l.o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	ready := make(chan struct{})
	h.s.OnSend = func(v any) []stanza.Stanza {
		if iq, ok := v.(stanza.IQ); ok && strings.Contains(xmlOf(iq), "carbons:2") {
			close(ready)
		}
		return nil
	}
	go func() { h.done <- h.l.Serve(ctx, h.s) }()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("carbons never enabled")
	}
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

func xmlOf(v any) string {
	b, _ := xml.Marshal(v)
	return string(b)
}

// settle waits until n events arrived, then for a barrier (see sync), so
// that an extra event (a duplicate) shows too.
func (h *harness) settle(t *testing.T, n int) []Event {
	t.Helper()
	h.waitFor(t, func(evs []Event) bool { return len(evs) >= n })
	return h.sync(t)
}

// sync delivers a message from a sender the tests never use and waits until
// it came out as an event: the listener handles stanzas one at a time in
// arrival order, so everything delivered before it has been handled. It
// returns the events before the barrier, which it removes.
func (h *harness) sync(t *testing.T) []Event {
	t.Helper()
	h.mu.Lock()
	h.synced++
	id := fmt.Sprintf("barrier-%d", h.synced)
	h.mu.Unlock()
	h.s.Deliver(&stanza.Message{ID: id, From: "barrier@example.net/test", Type: stanza.ChatMessage, Body: id})
	h.waitFor(t, func(evs []Event) bool {
		return slices.ContainsFunc(evs, func(ev Event) bool { return ev.Message.MsgID == id })
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = slices.DeleteFunc(h.events, func(ev Event) bool { return ev.Message.MsgID == id })
	return append([]Event(nil), h.events...)
}

// waitFor waits until the events satisfy ok; the deadline only turns a
// hang into a failure.
func (h *harness) waitFor(t *testing.T, ok func([]Event) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		done := ok(h.events)
		h.mu.Unlock()
		if done {
			return
		}
		select {
		case <-h.more:
		case <-deadline:
			h.mu.Lock()
			defer h.mu.Unlock()
			t.Fatalf("timed out waiting for events; have %+v", h.events)
		}
	}
}

func el(space, local string, attrs ...string) stanza.Element {
	e := stanza.Element{XMLName: xml.Name{Space: space, Local: local}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs = append(e.Attrs, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	return e
}

func carbon(dir, inner string, from string) *stanza.Message {
	return &stanza.Message{From: from, Ext: []stanza.Element{{XMLName: xml.Name{Space: "urn:xmpp:carbons:2", Local: dir},
		Inner: []byte(`<forwarded xmlns='urn:xmpp:forward:0'>` + inner + `</forwarded>`)}}}
}

func TestReceiptsMarkersAndOnce(t *testing.T) {
	h := start(t, nil, nil)
	m := &stanza.Message{ID: "m1", From: "bob@example.org/x", Type: stanza.ChatMessage, Body: "hi", Ext: []stanza.Element{
		el(stanza.NSSID, "stanza-id", "id", "s1", "by", "user@example.org"),
		el("urn:xmpp:receipts", "request"), el("urn:xmpp:chat-markers:0", "markable")}}
	h.s.Deliver(m)
	h.s.Deliver(m) // the same message again (e.g. resent after a reconnect)
	evs := h.settle(t, 1)
	if len(evs) != 1 || !evs[0].Notify || evs[0].Message.Body != "hi" {
		t.Fatalf("events %+v", evs)
	}
	var receipts, markers int
	for _, x := range h.s.Sent() {
		if strings.Contains(x, `<received xmlns="urn:xmpp:receipts" id="m1">`) && strings.Contains(x, `to="bob@example.org/x"`) {
			receipts++
		}
		if strings.Contains(x, `<received xmlns="urn:xmpp:chat-markers:0" id="m1">`) {
			markers++
		}
	}
	if receipts < 1 || markers < 1 {
		t.Errorf("sent %d receipts and %d markers; sent:\n%s", receipts, markers, strings.Join(h.s.Sent(), "\n"))
	}
}

func TestForgedCarbonIgnored(t *testing.T) {
	h := start(t, nil, nil)
	h.s.Deliver(carbon("received", `<message xmlns='jabber:client' from='bob@example.org/x' to='user@example.org' type='chat'><body>forged</body></message>`, "mallory@example.org"))
	h.s.Deliver(&stanza.Message{ID: "z", From: "carol@example.org/x", Type: stanza.ChatMessage, Body: "real"})
	evs := h.settle(t, 1)
	if len(evs) != 1 || evs[0].Message.Body != "real" {
		t.Fatalf("events %+v", evs)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.warns) == 0 {
		t.Error("forged carbon not reported")
	}
}

func TestQuietPeriodAndReadState(t *testing.T) {
	h := start(t, nil, nil)
	h.s.Deliver(carbon("sent", `<message xmlns='jabber:client' from='user@example.org/phone' to='bob@example.org' type='chat' id='p1'><body>on it</body></message>`, "user@example.org"))
	h.settle(t, 1)
	h.s.Deliver(&stanza.Message{ID: "b1", From: "bob@example.org/x", Type: stanza.ChatMessage, Body: "from bob"})
	h.s.Deliver(&stanza.Message{ID: "c1", From: "carol@example.org/x", Type: stanza.ChatMessage, Body: "from carol"})
	evs := h.settle(t, 3)
	if len(evs) != 3 {
		t.Fatalf("events %+v", evs)
	}
	if evs[0].Notify || evs[0].Message.Direction != store.Out {
		t.Errorf("own carbon: %+v", evs[0])
	}
	if evs[1].Notify {
		t.Error("bob's message notifies while the phone is active in that chat")
	}
	if !evs[2].Notify {
		t.Error("carol's message does not notify")
	}
	if !h.l.ActiveElsewhere("bob@example.org/anything") {
		t.Error("not active elsewhere")
	}
	h.mu.Lock()
	h.now = h.now.Add(2 * time.Minute)
	h.mu.Unlock()
	if h.l.ActiveElsewhere("bob@example.org") {
		t.Error("still active after the quiet period")
	}
	if ts, _, err := h.st.ReadState(context.Background(), "user@example.org", "bob@example.org"); err != nil || ts.IsZero() {
		t.Errorf("chat not marked read by our reply: %v %v", ts, err)
	}
	// A displayed marker sent from the phone marks read as well.
	h.s.Deliver(carbon("sent", `<message xmlns='jabber:client' from='user@example.org/phone' to='carol@example.org' type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' id='c1'/></message>`, "user@example.org"))
	h.sync(t) // the marker has been handled
	if ts, id, err := h.st.ReadState(context.Background(), "user@example.org", "carol@example.org"); err != nil || ts.IsZero() || id != "c1" {
		t.Errorf("displayed marker did not mark read: %v %q %v", ts, id, err)
	}
}

// storeItems prefills the store with archive items, as a previous run
// stored them.
func storeItems(items []mamtest.Item) func(*store.Store) {
	return func(st *store.Store) {
		_ = st.Update(context.Background(), func(b *store.Batch) error {
			for _, it := range items {
				r, _ := archive.Record(&it.Message, archive.Self{Account: "user@example.org"}, "user@example.org", it.ID, it.Stamp, "live")
				if _, err := b.Put(r); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func TestCatchUpFromStore(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	a := &mamtest.Archive{}
	items := mamtest.Chat(5, "bob@example.org/x", "user@example.org", "m", t0)
	a.Add(items...)
	h := start(t, a, storeItems(items[:2])) // a previous run stored m-0 and m-1
	evs := h.settle(t, 3)
	if len(evs) != 3 || evs[0].Message.Body != "body-m-2" || !evs[0].CatchUp {
		t.Fatalf("catch-up events %+v", evs)
	}
	if q := a.Queries(); len(q) == 0 || q[0].After != "sid-m-1" {
		t.Errorf("catch-up query %+v", q)
	}
}

// TestCatchUpSettle: a catch-up first reads again the Settle window before
// the stored point. A message the archive made visible after that point
// (numbered before it) is reported once; what was stored is not reported
// again; a server that refuses time filters only costs the window (a
// warning) and the catch-up goes on. Without Settle the fake shows the
// loss.
func TestCatchUpSettle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		settle time.Duration
		refuse bool
		want   string
	}{
		{"settle", 30 * time.Second, false, "late|body-m-3|body-m-4"},
		{"no settle", 0, false, "body-m-3|body-m-4"},
		{"time filters refused", 30 * time.Second, true, "body-m-3|body-m-4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
			a := &mamtest.Archive{RefuseStart: tc.refuse}
			items := mamtest.Chat(5, "bob@example.org/x", "user@example.org", "m", t0)
			a.Add(items...)
			late := mamtest.Item{ID: "sid-late", Stamp: items[1].Stamp.Add(time.Second / 2),
				Message: stanza.Message{ID: "late", From: "bob@example.org/x", To: "user@example.org", Type: stanza.ChatMessage, Body: "late"}}
			a.InsertBefore(items[2].ID, late)
			// A previous run stored m-0 … m-2; "late" was not visible yet.
			h := start(t, a, storeItems(items[:3]), func(o *Options) { o.Settle = tc.settle })
			n := strings.Count(tc.want, "|") + 1
			var got []string
			for _, ev := range h.settle(t, n) {
				got = append(got, ev.Message.Body)
			}
			if strings.Join(got, "|") != tc.want {
				t.Errorf("caught up %q, want %q", got, tc.want)
			}
			h.mu.Lock()
			warned := len(h.warns) > 0
			h.mu.Unlock()
			if warned != tc.refuse {
				t.Errorf("warnings %q", h.warns)
			}
		})
	}
}
