package listen

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/mam/mamtest"
	"github.com/xmppctl/xmppctl/pkg/muc"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// watched adds the presence watcher a real session has: the children of
// our unavailable presence (go-xmpp drops them).
type watched struct {
	*xmpptest.Session
	mu   sync.Mutex
	gone map[string][]stanza.Element
}

func (w *watched) UnavailableExt(ctx context.Context, jid string) ([]stanza.Element, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ext, ok := w.gone[jid]; ok {
		return ext, nil
	}
	return nil, errors.New("not seen")
}

func (w *watched) PresenceExt(string) []stanza.Element { return nil }

const testRoom = "ops@conference.example.org"

// roomSession answers disco#info of rooms and joins them.
func roomSession() *watched {
	w := &watched{Session: xmpptest.New(), gone: map[string][]stanza.Element{}}
	w.Full = "user@example.org/listen"
	w.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		if strings.HasSuffix(iq.To, "@conference.example.org") && strings.Contains(xmlOf(iq), "disco#info") {
			return &stanza.IQ{Type: "result", From: iq.To, Query: stanza.Element{
				XMLName: xml.Name{Space: "http://jabber.org/protocol/disco#info", Local: "query"},
				Inner:   []byte(`<identity category='conference' type='text' name='ops'/>`)}}, nil
		}
		return &stanza.IQ{Type: "result", From: iq.To}, nil
	}
	w.OnSend = func(v any) []stanza.Stanza {
		if p, ok := v.(stanza.Presence); ok && p.Type == stanza.AvailablePresence && strings.Contains(p.To, "@conference.example.org/") {
			return []stanza.Stanza{&stanza.Presence{From: p.To}}
		}
		return nil
	}
	return w
}

// TestRoomEventsMentionsAndKick: groupchat messages of a joined room are
// reported with room, nick, occupant-id and real JID; --mentions passes on
// only those naming the nick; our own reflection is out-going; a kick ends
// the room and, as it was the only one, the listener.
func TestRoomEventsMentionsAndKick(t *testing.T) {
	w := roomSession()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	var evs []Event
	var ended []*RoomEndedError
	joined := make(chan string, 4)
	evc := make(chan struct{}, 16)
	l := New(Options{Self: archive.Self{Account: "user@example.org", Nick: "bot"}, Store: st, Mentions: true,
		Rooms:     []Room{{JID: testRoom, Nick: "bot"}},
		OnEvent:   func(ev Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock(); evc <- struct{}{} },
		OnJoined:  func(room, _ string) { joined <- room },
		OnRoomEnd: func(e *RoomEndedError) { mu.Lock(); ended = append(ended, e); mu.Unlock() }})
	done := make(chan error, 1)
	go func() { done <- l.Serve(context.Background(), w) }()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("room not joined")
	}
	sid := func(id string) stanza.Element { return el(stanza.NSSID, "stanza-id", "id", id, "by", testRoom) }
	real := stanza.Element{XMLName: xml.Name{Space: stanza.NSMUCUser, Local: "x"}, Inner: []byte(`<item jid='carol@example.org/phone'/>`)}
	w.Deliver(&stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: "nothing for robots", Ext: []stanza.Element{sid("r1")}})
	w.Deliver(&stanza.Message{From: testRoom, Type: stanza.GroupChatMessage, Subject: "the topic"})
	w.Deliver(&stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: "Bot: deploy", Ext: []stanza.Element{
		sid("r2"), el(muc.NSOccupantID, "occupant-id", "id", "occ-carol"), real}})
	<-evc
	// Kicked: the room's unavailable presence for our nick.
	w.mu.Lock()
	w.gone[testRoom+"/bot"] = []stanza.Element{{XMLName: xml.Name{Space: stanza.NSMUCUser, Local: "x"},
		Inner: []byte(`<item affiliation='none' role='none'/><status code='307'/><status code='110'/>`)}}
	w.mu.Unlock()
	w.Deliver(&stanza.Presence{From: testRoom + "/bot", Type: stanza.UnavailablePresence})
	var rerr *RoomsEndedError
	select {
	case err := <-done:
		if !errors.As(err, &rerr) || rerr.Last.Why != muc.RemovedKicked {
			t.Fatalf("Serve returned %v, want the kick", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the kick did not end the listener")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evs) != 1 {
		t.Fatalf("events %+v, want only the mention", evs)
	}
	ev := evs[0]
	if ev.Room == nil || ev.Room.Room != testRoom || ev.Room.Nick != "carol" || ev.Room.OccupantID != "occ-carol" ||
		ev.Room.RealJID != "carol@example.org/phone" || !ev.Room.Mention || ev.Message.Direction != store.In {
		t.Errorf("event %+v room %+v", ev.Message, ev.Room)
	}
	if len(ended) != 1 || ended[0].Room != testRoom {
		t.Errorf("OnRoomEnd %+v", ended)
	}
	var n int
	_ = st.Messages(context.Background(), store.Filter{}, func(*store.Message) error { n++; return nil })
	if n != 2 {
		t.Errorf("%d messages stored, want both room messages (and not the subject)", n)
	}
	var joins int
	for _, x := range w.Sent() {
		if strings.Contains(x, `<presence`) && strings.Contains(x, `<history maxstanzas="0">`) {
			joins++
		}
	}
	if joins != 1 {
		t.Errorf("%d joins without history sent:\n%s", joins, strings.Join(w.Sent(), "\n"))
	}
}

// TestRoomCatchUp: after the join the room's archive is read after the
// newest stanza-id stored for the room (nothing twice); an archive that
// lost that id is read from its time instead, with a warning.
//
// With Settle, the window before the stored message is read first: a
// message the archive made visible after it (numbered before it) is
// reported once, nothing else twice; without, the fake shows the loss.
func TestRoomCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lost, late bool
		settle     time.Duration
		want       string
	}{
		{"resume", false, false, 30 * time.Second, "new one|new two"},
		{"lost id", true, false, 30 * time.Second, "new one|new two"},
		{"visible late", false, true, 30 * time.Second, "late|new one|new two"},
		{"visible late, no settle", false, true, 0, "new one|new two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lost := tc.lost
			w := roomSession()
			disco := w.OnIQ
			a := &mamtest.Archive{From: testRoom}
			t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
			if tc.late {
				a.Add(mamtest.Item{ID: "late", Stamp: t0.Add(-10 * time.Second), Message: stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: "late"}})
			}
			if !lost {
				a.Add(mamtest.Item{ID: "old", Stamp: t0, Message: stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: "old"}})
			}
			for i, b := range []string{"new one", "new two"} {
				a.Add(mamtest.Item{ID: "n" + b, Stamp: t0.Add(time.Duration(i+1) * time.Minute),
					Message: stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: b}})
			}
			a.Serve(w.Session)
			archiveIQ := w.OnIQ
			w.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
				if strings.Contains(xmlOf(iq), "urn:xmpp:mam:2") {
					return archiveIQ(iq)
				}
				return disco(iq)
			}
			st, err := store.Open(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Update(context.Background(), func(b *store.Batch) error {
				_, err := b.Put(&store.Message{Account: "user@example.org", Archive: testRoom, StanzaID: "old",
					From: testRoom + "/carol", With: testRoom, Direction: store.In, Type: "groupchat", Time: t0, Body: "old"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var bodies, warns []string
			joined := make(chan struct{}, 1)
			l := New(Options{Self: archive.Self{Account: "user@example.org"}, Store: st, Rooms: []Room{{JID: testRoom, Nick: "bot"}},
				Settle: tc.settle,
				OnEvent: func(ev Event) {
					mu.Lock()
					defer mu.Unlock()
					if ev.CatchUp && ev.Room != nil && ev.Room.Nick == "carol" {
						bodies = append(bodies, ev.Message.Body)
					}
				},
				Warn:     func(f string, args ...any) { mu.Lock(); warns = append(warns, f); mu.Unlock() },
				OnJoined: func(string, string) { joined <- struct{}{} }})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- l.Serve(ctx, w) }()
			select {
			case <-joined:
			case <-time.After(10 * time.Second):
				t.Fatal("not joined")
			}
			cancel()
			<-done
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(bodies, "|") != tc.want {
				t.Errorf("caught up %q, want %q, each once", bodies, tc.want)
			}
			warned := strings.Contains(strings.Join(warns, "\n"), "no longer has")
			if warned != lost {
				t.Errorf("lost id %v, warnings %q", lost, warns)
			}
			// First the settle window (with Settle), then after the stored id.
			qs := a.Queries()
			i := slices.IndexFunc(qs, func(q mamtest.Query) bool { return q.After == "old" })
			windows := 0
			if tc.settle > 0 {
				windows = 1
			}
			if i != windows {
				t.Fatalf("queries %+v, want %d settle window(s) and then one after the stored id", qs, windows)
			}
			for _, q := range qs[:i] {
				if q.Start == "" || q.End == "" || q.After != "" {
					t.Errorf("query %+v before the one after the stored id is not a settle window", q)
				}
			}
		})
	}
}
