package archive

import (
	"context"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/mam/mamtest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

var (
	t0   = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	self = Self{Account: "user@example.org", Nick: "me"}
)

func el(space, local string, attrs ...string) stanza.Element {
	e := stanza.Element{XMLName: xml.Name{Space: space, Local: local}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs = append(e.Attrs, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	return e
}

func TestRecord(t *testing.T) {
	room := "dev@conference.example.org"
	tests := []struct {
		name    string
		m       stanza.Message
		archive string
		ok      bool
		check   func(*store.Message) string
	}{
		{"incoming chat with stanza-id by us", stanza.Message{From: "bob@example.org/x", To: "user@example.org/r", Type: stanza.ChatMessage, Body: "hi",
			Ext: []stanza.Element{el(stanza.NSSID, "stanza-id", "id", "s1", "by", "user@example.org"), el(stanza.NSSID, "origin-id", "id", "o1")}},
			"user@example.org", true, func(r *store.Message) string {
				if r.Direction != store.In || r.With != "bob@example.org" || r.StanzaID != "s1" || r.OriginID != "o1" {
					return "wrong identity/direction"
				}
				return ""
			}},
		{"stanza-id by someone else is not trusted", stanza.Message{From: "bob@example.org/x", Body: "hi",
			Ext: []stanza.Element{el(stanza.NSSID, "stanza-id", "id", "evil", "by", "bob@example.org")}},
			"user@example.org", true, func(r *store.Message) string {
				if r.StanzaID != "" {
					return "took a stanza-id not by the archive"
				}
				return ""
			}},
		{"a forged stanza-id by us before the server's", stanza.Message{From: "bob@example.org/x", Body: "hi",
			Ext: []stanza.Element{el(stanza.NSSID, "stanza-id", "id", "forged", "by", "user@example.org"),
				el(stanza.NSSID, "stanza-id", "id", "s2", "by", "user@example.org")}},
			"user@example.org", true, func(r *store.Message) string {
				if r.StanzaID != "s2" {
					return "took " + r.StanzaID + ", not the last stanza-id the archive added"
				}
				return ""
			}},
		{"outgoing", stanza.Message{From: "user@example.org/phone", To: "bob@example.org", Type: stanza.ChatMessage, Body: "yo"},
			"user@example.org", true, func(r *store.Message) string {
				if r.Direction != store.Out || r.With != "bob@example.org" {
					return "not outgoing to bob"
				}
				return ""
			}},
		{"receipt, marker, correction, oob", stanza.Message{From: "bob@example.org/x", Type: stanza.ChatMessage,
			Body: "fixed", Ext: []stanza.Element{
				el("urn:xmpp:receipts", "received", "id", "r1"), el("urn:xmpp:chat-markers:0", "displayed", "id", "m1"),
				el(NSCorrect, "replace", "id", "old"),
				{XMLName: xml.Name{Space: stanza.NSOOB, Local: "x"}, Inner: []byte("<url> https://x/y </url>")}}},
			"user@example.org", true, func(r *store.Message) string {
				if r.ReceiptFor != "r1" || r.Marker != "displayed" || r.MarkerFor != "m1" || r.Replace != "old" || r.OOB != "https://x/y" {
					return "references lost"
				}
				return ""
			}},
		{"chat state only", stanza.Message{From: "bob@example.org/x", Type: stanza.ChatMessage,
			Ext: []stanza.Element{el("http://jabber.org/protocol/chatstates", "composing")}}, "user@example.org", false, nil},
		{"error", stanza.Message{From: "bob@example.org/x", Type: stanza.ErrorMessage, Body: "x"}, "user@example.org", false, nil},
		{"room message from our nick", stanza.Message{From: room + "/me", Type: stanza.GroupChatMessage, Body: "hey"}, room, true,
			func(r *store.Message) string {
				if r.Direction != store.Out || r.With != room || r.Archive != room {
					return "own room message not outgoing"
				}
				return ""
			}},
		{"room message with our real JID", stanza.Message{From: room + "/someone", Type: stanza.GroupChatMessage, Body: "hey",
			Ext: []stanza.Element{{XMLName: xml.Name{Space: stanza.NSMUCUser, Local: "x"}, Inner: []byte(`<item jid='user@example.org/r'/>`)}}},
			room, true, func(r *store.Message) string {
				if r.Direction != store.Out {
					return "real JID not recognised"
				}
				return ""
			}},
		{"room message from another", stanza.Message{From: room + "/bob", Type: stanza.GroupChatMessage, Body: "hey"}, room, true,
			func(r *store.Message) string {
				if r.Direction != store.In {
					return "other's room message outgoing"
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			r, ok := Record(&m, self, tt.archive, "", time.Time{}, SourceLive)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if ok {
				if r.Time.IsZero() || r.Type == "" {
					t.Errorf("no time or type: %+v", r)
				}
				if msg := tt.check(r); msg != "" {
					t.Errorf("%s: %+v", msg, r)
				}
			}
		})
	}
}

func TestIncomingCarbons(t *testing.T) {
	sent := &stanza.Message{From: "user@example.org", Ext: []stanza.Element{{XMLName: xml.Name{Space: "urn:xmpp:carbons:2", Local: "sent"},
		Inner: []byte(`<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='user@example.org/phone' to='bob@example.org' type='chat' id='m1'><body>from phone</body></message></forwarded>`)}}}
	r, kind, inner := Incoming(sent, self)
	if kind != KindCarbonSent || r == nil || r.Direction != store.Out || r.Source != SourceCarbon || inner.To != "bob@example.org" {
		t.Fatalf("sent carbon: %v %+v", kind, r)
	}
	forged := *sent
	forged.From = "bob@example.org"
	if r, kind, _ := Incoming(&forged, self); kind != KindForged || r != nil {
		t.Fatalf("forged carbon accepted: %v %+v", kind, r)
	}
	res := mamtest.Result("", "user@example.org/r", "q", mamtest.Chat(1, "bob@example.org/x", "user@example.org", "m", t0)[0])
	if r, kind, _ := Incoming(res, self); kind != KindIgnored || r != nil {
		t.Fatalf("archive result taken as live: %v", kind)
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func bodies(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := st.Messages(context.Background(), store.Filter{Account: self.Account}, func(m *store.Message) error {
		out[m.Body]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// chatArchive serves n chat messages from bob, in pages of at most 10, to
// a fake session of user@example.org/sync, with a fresh store to sync into.
func chatArchive(t *testing.T, n int) (*xmpptest.Session, *mamtest.Archive, []mamtest.Item, *store.Store) {
	s := xmpptest.New()
	s.Full = "user@example.org/sync"
	a := &mamtest.Archive{MaxPage: 10}
	items := mamtest.Chat(n, "bob@example.org/x", "user@example.org", "m", t0)
	a.Add(items...)
	a.Serve(s)
	return s, a, items, openStore(t)
}

func TestSyncDeduplicatesLiveAndResumes(t *testing.T) {
	s, a, items, st := chatArchive(t, 25)
	live := s.Subscribe()
	// m-3 also arrived live (with the archive's stanza-id), m-20 as a carbon
	// without one: both must be stored once.
	liveMsg := items[3].Message
	liveMsg.Ext = append(liveMsg.Ext, el(stanza.NSSID, "stanza-id", "id", items[3].ID, "by", "user@example.org"))
	s.Deliver(&liveMsg)
	s.Deliver(&stanza.Message{From: "user@example.org", Ext: []stanza.Element{{XMLName: xml.Name{Space: "urn:xmpp:carbons:2", Local: "received"},
		Inner: []byte(`<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='bob@example.org/x' to='user@example.org' type='chat' id='m-20'><body>body-m-20</body></message></forwarded>`)}}})
	ctx := context.Background()
	o := Options{Self: self, PageSize: 10, Live: live}
	sum, err := Sync(ctx, s, st, o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 25 || sum.Duplicates != 2 || sum.Total != 25 || sum.LastID != "sid-m-24" {
		t.Fatalf("summary %+v", sum)
	}
	for b, n := range bodies(t, st) {
		if n != 1 {
			t.Errorf("%q stored %d times", b, n)
		}
	}
	// More arrives; the next sync asks only after the last id.
	a.Add(mamtest.Chat(3, "carol@example.org/x", "user@example.org", "c", t0.Add(time.Hour))...)
	sum, err = Sync(ctx, s, st, o)
	if err != nil || sum.New != 3 || sum.Duplicates != 0 || sum.Total != 28 {
		t.Fatalf("second sync %+v %v", sum, err)
	}
	qs := a.Queries()
	if last := qs[len(qs)-1]; !strings.HasPrefix(last.After, "sid-") {
		t.Errorf("second sync did not resume: %+v", last)
	}
	p, ok, _ := st.GetSyncPoint(ctx, self.Account, self.Account, "")
	if !ok || p.LastID != "sid-c-2" || !p.Complete {
		t.Errorf("sync point %+v", p)
	}
}

// TestSyncSettle: a message the archive makes visible after a later one
// (ejabberd under load) is fetched by the next sync, which asks again for
// the Settle before its sync point; without Settle it would be lost.
func TestSyncSettle(t *testing.T) {
	for _, settle := range []time.Duration{DefaultSettle, 0} {
		t.Run(settle.String(), func(t *testing.T) {
			s, a, _, st := chatArchive(t, 25)
			ctx := context.Background()
			o := Options{Self: self, PageSize: 10, Settle: settle}
			if sum, err := Sync(ctx, s, st, o); err != nil || sum.New != 25 {
				t.Fatalf("first sync %+v %v", sum, err)
			}
			late := mamtest.Chat(1, "carol@example.org/x", "user@example.org", "late", t0.Add(20*time.Second+time.Second/2))[0]
			a.InsertBefore("sid-m-21", late)
			sum, err := Sync(ctx, s, st, o)
			if err != nil {
				t.Fatal(err)
			}
			got := bodies(t, st)["body-late-0"]
			switch {
			case settle > 0 && (got != 1 || sum.New != 1 || sum.Total != 26):
				t.Errorf("the late message stored %d times; summary %+v", got, sum)
			case settle == 0 && got != 0:
				t.Errorf("without Settle the late message was stored (%d): the test no longer shows the race", got)
			}
			for b, n := range bodies(t, st) {
				if n != 1 {
					t.Errorf("%q stored %d times", b, n)
				}
			}
		})
	}
}

// TestSyncSettleForged: results a stranger slips into the settle window's
// answer are counted as forged and stored nowhere (hostile). The archive
// forges from the start (set before any query runs: its answers run in
// goroutines), and the sync resumes from a stored point at its newest
// message, so every result comes through the settle window.
func TestSyncSettleForged(t *testing.T) {
	s, a, items, st := chatArchive(t, 25)
	a.Forge = "mallory@evil.example/x"
	ctx := context.Background()
	last := items[len(items)-1]
	if err := st.Update(ctx, func(b *store.Batch) error {
		return b.SetSyncPoint(store.SyncPoint{Account: self.Account, Archive: self.Account, LastID: last.ID, LastTime: last.Stamp})
	}); err != nil {
		t.Fatal(err)
	}
	sum, err := Sync(ctx, s, st, Options{Self: self, PageSize: 10, Settle: DefaultSettle})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Forged == 0 || sum.New != 25 || sum.Total != 25 {
		t.Errorf("summary %+v: want forged results counted, the 25 real ones stored", sum)
	}
	for b, n := range bodies(t, st) {
		if n != 1 {
			t.Errorf("%q stored %d times", b, n)
		}
	}
}

func TestSyncStaleIDGap(t *testing.T) {
	s := xmpptest.New()
	s.Full = "user@example.org/sync"
	a := &mamtest.Archive{}
	a.Add(mamtest.Chat(5, "bob@example.org/x", "user@example.org", "m", t0)...)
	a.Serve(s)
	st := openStore(t)
	ctx := context.Background()
	if err := st.Update(ctx, func(b *store.Batch) error {
		return b.SetSyncPoint(store.SyncPoint{Account: self.Account, Archive: self.Account, LastID: "expired"})
	}); err != nil {
		t.Fatal(err)
	}
	var warned string
	sum, err := Sync(ctx, s, st, Options{Self: self, Warn: func(f string, a ...any) { warned = f }})
	if err != nil || !sum.Gap || sum.New != 5 || warned == "" {
		t.Fatalf("summary %+v, err %v, warned %q", sum, err, warned)
	}
	p, _, _ := st.GetSyncPoint(ctx, self.Account, self.Account, "")
	if p.GapAt.IsZero() {
		t.Error("gap not recorded in the sync point")
	}
}

func TestSyncMatchesOwnSentMessages(t *testing.T) {
	s := xmpptest.New()
	s.Full = "user@example.org/sync"
	st := openStore(t)
	ctx := context.Background()
	// What "send" recorded, without a stanza-id.
	sent := &store.Message{Account: self.Account, Archive: self.Account, OriginID: "o-1", MsgID: "o-1",
		From: "user@example.org/cli", To: "bob@example.org", With: "bob@example.org", Direction: store.Out,
		Type: "chat", Time: t0, Body: "sent by the cli", Source: SourceSent}
	if err := st.Update(ctx, func(b *store.Batch) error { _, err := b.Put(sent); return err }); err != nil {
		t.Fatal(err)
	}
	a := &mamtest.Archive{}
	a.Add(mamtest.Item{ID: "sid-9", Stamp: t0.Add(time.Second), Message: stanza.Message{ID: "o-1", From: "user@example.org/cli",
		To: "bob@example.org", Type: stanza.ChatMessage, Body: "sent by the cli",
		Ext: []stanza.Element{el(stanza.NSSID, "origin-id", "id", "o-1")}}})
	a.Serve(s)
	sum, err := Sync(ctx, s, st, Options{Self: self})
	if err != nil || sum.New != 0 || sum.Duplicates != 1 || sum.Total != 1 {
		t.Fatalf("summary %+v %v", sum, err)
	}
	var got []store.Message
	_ = st.Messages(ctx, store.Filter{}, func(m *store.Message) error { got = append(got, *m); return nil })
	if len(got) != 1 || got[0].StanzaID != "sid-9" {
		t.Fatalf("own message not matched to its archived copy: %+v", got)
	}
}

func TestSentThenArchived(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	type originID struct {
		XMLName xml.Name `xml:"urn:xmpp:sid:0 origin-id"`
		ID      string   `xml:"id,attr"`
	}
	m := stanza.Message{ID: "o-7", To: "bob@example.org", Type: stanza.ChatMessage, Body: "hello", Payload: []any{originID{ID: "o-7"}}}
	if err := Sent(ctx, st, self, "user@example.org/cli", t0, m); err != nil {
		t.Fatal(err)
	}
	s := xmpptest.New()
	s.Full = "user@example.org/sync"
	a := &mamtest.Archive{}
	a.Add(mamtest.Item{ID: "sid-7", Stamp: t0, Message: stanza.Message{ID: "o-7", From: "user@example.org/cli", To: "bob@example.org",
		Type: stanza.ChatMessage, Body: "hello", Ext: []stanza.Element{el(stanza.NSSID, "origin-id", "id", "o-7")}}})
	a.Serve(s)
	sum, err := Sync(ctx, s, st, Options{Self: self})
	if err != nil || sum.New != 0 || sum.Total != 1 {
		t.Fatalf("summary %+v %v", sum, err)
	}
}

// TestSentToRoomThenSynced is the regression test of the room duplicates:
// what "send --muc" recorded (from our full JID) and the room's archived
// copy (from room/nick, with the origin-id the room reflects) are one
// message, whether or not the sync knows the nick we sent with; another
// occupant reusing our origin-id is not.
func TestSentToRoomThenSynced(t *testing.T) {
	const room = "ops@conference.example.org"
	type originID struct {
		XMLName xml.Name `xml:"urn:xmpp:sid:0 origin-id"`
		ID      string   `xml:"id,attr"`
	}
	tests := []struct {
		name     string
		sendNick string // the nick send joined with
		syncSelf Self   // who the sync thinks we are
		realJID  string // muc#user item jid in the archived copy (non-anonymous room)
	}{
		{"nick known to both", "ci-bot", Self{Account: self.Account, Nick: "ci-bot"}, ""},
		{"sync without the nick", "ci-bot", Self{Account: self.Account}, ""},
		{"non-anonymous room", "ci-bot", Self{Account: self.Account, Nick: "other"}, self.Account + "/cli"},
		{"send without nick, sync with it", "", Self{Account: self.Account, Nick: "ci-bot"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			ctx := context.Background()
			var msgs []stanza.Message
			for i := range 3 {
				id := "o-" + string(rune('a'+i))
				msgs = append(msgs, stanza.Message{ID: id, To: room, Type: stanza.GroupChatMessage, Body: "deploy " + id, Payload: []any{originID{ID: id}}})
			}
			if err := Sent(ctx, st, Self{Account: self.Account, Nick: tt.sendNick}, self.Account+"/cli", t0, msgs...); err != nil {
				t.Fatal(err)
			}
			s := xmpptest.New()
			s.Full = self.Account + "/sync"
			a := &mamtest.Archive{From: room}
			for i, m := range msgs {
				ext := []stanza.Element{el(stanza.NSSID, "origin-id", "id", m.ID)}
				if tt.realJID != "" {
					x := el(stanza.NSMUCUser, "x")
					x.Inner = []byte(`<item xmlns='` + stanza.NSMUCUser + `' jid='` + tt.realJID + `'/>`)
					ext = append(ext, x)
				}
				a.Add(mamtest.Item{ID: "room-sid-" + m.ID, Stamp: t0.Add(time.Duration(i) * time.Second),
					Message: stanza.Message{ID: m.ID, From: room + "/ci-bot", Type: stanza.GroupChatMessage, Body: m.Body, Ext: ext}})
			}
			// Another occupant replays our first origin-id.
			a.Add(mamtest.Item{ID: "room-sid-evil", Stamp: t0.Add(time.Minute),
				Message: stanza.Message{ID: "o-a", From: room + "/mallory", Type: stanza.GroupChatMessage, Body: "spoof",
					Ext: []stanza.Element{el(stanza.NSSID, "origin-id", "id", "o-a")}}})
			a.Serve(s)
			sum, err := Sync(ctx, s, st, Options{Self: tt.syncSelf, Room: room})
			if err != nil {
				t.Fatal(err)
			}
			if sum.New != 1 || sum.Duplicates != 3 || sum.Total != 4 {
				t.Fatalf("summary %+v, want 1 new (the spoof), 3 duplicates, 4 in total", sum)
			}
			var got []store.Message
			_ = st.Messages(ctx, store.Filter{}, func(m *store.Message) error { got = append(got, *m); return nil })
			for _, m := range got {
				if m.StanzaID == "" {
					t.Errorf("sent record %q did not adopt the room's stanza-id", m.Body)
				}
			}
		})
	}
}

// TestSyncConvergingInterruptedResumes cuts a sync that walks the archive
// from both ends after a few batches of pages (Progress is called after
// each stored batch), forward and backward ones stored, then
// runs it again: every message ends up stored exactly once, the sync point
// never claimed more than the forward walk had stored, and the second run
// ends complete at the newest message.
func TestSyncConvergingInterruptedResumes(t *testing.T) {
	for _, cutAfter := range []int{1, 2, 3} {
		s, _, items, st := chatArchive(t, 95)
		ctx, cancel := context.WithCancel(context.Background())
		batches := 0
		o := Options{Self: self, PageSize: 5, Progress: func(done, total int) {
			if batches++; batches == cutAfter {
				cancel()
			}
		}}
		first, err := Sync(ctx, s, st, o)
		cancel()
		if err == nil {
			t.Fatalf("cut after %d batches: the sync did not notice", cutAfter)
		}
		p, _, _ := st.GetSyncPoint(context.Background(), self.Account, self.Account, "")
		if p.Complete {
			t.Fatalf("cut after %d batches: sync point claims completion: %+v", cutAfter, p)
		}
		// The point is the end of a contiguous stored prefix.
		stored := bodies(t, st)
		below := p.LastID != ""
		for _, it := range items {
			if below && stored[it.Message.Body] == 0 {
				t.Fatalf("cut after %d batches: %s missing below the sync point %s", cutAfter, it.ID, p.LastID)
			}
			if it.ID == p.LastID {
				below = false
			}
		}
		o.Progress = nil
		second, err := Sync(context.Background(), s, st, o)
		if err != nil {
			t.Fatal(err)
		}
		if first.New+second.New != 95 {
			t.Errorf("cut after %d batches: %d + %d new, want 95", cutAfter, first.New, second.New)
		}
		for b, n := range bodies(t, st) {
			if n != 1 {
				t.Errorf("cut after %d batches: %q stored %d times", cutAfter, b, n)
			}
		}
		p, _, _ = st.GetSyncPoint(context.Background(), self.Account, self.Account, "")
		if !p.Complete || p.LastID != "sid-m-94" || second.Total != 95 {
			t.Errorf("cut after %d batches: sync point %+v, summary %+v", cutAfter, p, second)
		}
	}
}

// Pages are stored batchPages at a time, and those fetched before the walk
// ends on an error are stored still, with the sync point over them.
func TestSyncStoresBatches(t *testing.T) {
	s, a, items, st := chatArchive(t, 95)
	a.RefuseAfter = map[string]bool{items[29].ID: true} // the 7th page of 5 is refused
	var calls [][2]int
	o := Options{Self: self, PageSize: 5, NoPipeline: true, Progress: func(done, total int) {
		calls = append(calls, [2]int{done, total})
	}}
	sum, err := Sync(context.Background(), s, st, o)
	var me *mam.Error
	if !errors.As(err, &me) || me.Condition() != stanza.ItemNotFound {
		t.Fatalf("Sync: %v, want the refusal", err)
	}
	if want := [][2]int{{4 * 5, 95}, {6 * 5, 95}}; !reflect.DeepEqual(calls, want) {
		t.Errorf("progress %v, want a batch of %d pages, then the 2 pages fetched before the refusal: %v", calls, batchPages, want)
	}
	if got := bodies(t, st); len(got) != 30 || sum.New != 30 {
		t.Errorf("%d stored, %d new; want the 30 fetched", len(got), sum.New)
	}
	p, _, _ := st.GetSyncPoint(context.Background(), self.Account, self.Account, "")
	if p.LastID != items[29].ID || p.Complete {
		t.Errorf("sync point %+v, want it at %s, not complete", p, items[29].ID)
	}
}
