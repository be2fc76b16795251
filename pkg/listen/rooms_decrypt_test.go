package listen

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam/mamtest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// TestRoomDecryptRealJID: a live groupchat message is decrypted as from
// the real JID the occupant's presence showed; an occupant never seen, or
// one whose message claims a real JID itself (the sender may write that),
// gets "" (the decrypter keeps it with the reason); a direct message gets
// "" as before.
func TestRoomDecryptRealJID(t *testing.T) {
	w := roomSession()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	got := map[string]string{} // body -> real JID passed to the decrypter
	dec := func(_ context.Context, _ conn.Session, m *stanza.Message, live bool, realJID string) *archive.Decryption {
		mu.Lock()
		got[m.Body] = realJID
		mu.Unlock()
		return &archive.Decryption{Encrypted: "urn:test", Body: "plain " + m.Body}
	}
	joined := make(chan string, 1)
	evc := make(chan Event, 16)
	l := New(Options{Self: archive.Self{Account: "user@example.org", Nick: "bot"}, Store: st, Decrypt: dec,
		Rooms:    []Room{{JID: testRoom, Nick: "bot"}},
		OnEvent:  func(ev Event) { evc <- ev },
		OnJoined: func(room, _ string) { joined <- room }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, w) }()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("room not joined")
	}
	user := func(jid string) stanza.Element {
		return stanza.Element{XMLName: xml.Name{Space: stanza.NSMUCUser, Local: "x"}, Inner: []byte(`<item jid='` + jid + `'/>`)}
	}
	w.Deliver(&stanza.Presence{From: testRoom + "/carol", Ext: []stanza.Element{user("carol@example.org/phone")}})
	w.Deliver(&stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: "from carol"})
	w.Deliver(&stanza.Message{From: testRoom + "/dave", Type: stanza.GroupChatMessage, Body: "from dave"})
	w.Deliver(&stanza.Message{From: testRoom + "/eve", Type: stanza.GroupChatMessage, Body: "from eve", Ext: []stanza.Element{user("carol@example.org")}})
	w.Deliver(&stanza.Message{From: "frank@example.org/x", To: "user@example.org", Type: stanza.ChatMessage, Body: "direct"})
	var bodies []string
	for len(bodies) < 4 {
		select {
		case ev := <-evc:
			bodies = append(bodies, ev.Message.Body)
		case <-time.After(10 * time.Second):
			t.Fatalf("events so far %q", bodies)
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{"from carol": "carol@example.org/phone", "from dave": "", "from eve": "", "direct": ""}
	for body, jid := range want {
		if r, ok := got[body]; !ok || r != jid {
			t.Errorf("%q: decrypted with real JID %q (called %v), want %q", body, r, ok, jid)
		}
	}
	if bodies[0] != "plain from carol" {
		t.Errorf("bodies %q", bodies)
	}
}

// TestRoomCatchUpDecrypt: a message read from the room's archive after the
// join is passed to the decrypter as not live and without a real JID (the
// nick may have been someone else's when it was sent).
func TestRoomCatchUpDecrypt(t *testing.T) {
	w := roomSession()
	disco := w.OnIQ
	a := &mamtest.Archive{From: testRoom}
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	a.Add(mamtest.Item{ID: "old", Stamp: t0, Message: stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: "old"}})
	a.Add(mamtest.Item{ID: "new", Stamp: t0.Add(time.Minute), Message: stanza.Message{From: testRoom + "/carol", Type: stanza.GroupChatMessage, Body: "new"}})
	a.Serve(w.Session)
	archiveIQ := w.OnIQ
	w.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		if strings.Contains(xmlOf(iq), "urn:xmpp:mam:2") {
			return archiveIQ(iq)
		}
		return disco(iq)
	}
	// Carol is in the room now: her presence must not name the sender of
	// an archived message.
	w.Deliver(&stanza.Presence{From: testRoom + "/carol", Ext: []stanza.Element{{XMLName: xml.Name{Space: stanza.NSMUCUser, Local: "x"},
		Inner: []byte(`<item jid='carol@example.org/phone'/>`)}}})
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
	var calls []string
	dec := func(_ context.Context, _ conn.Session, m *stanza.Message, live bool, realJID string) *archive.Decryption {
		mu.Lock()
		calls = append(calls, fmt.Sprintf("%s live=%v real=%q", m.Body, live, realJID))
		mu.Unlock()
		return &archive.Decryption{Encrypted: "urn:test", Err: errors.New("sender's real JID unknown")}
	}
	var got []store.Message
	joined := make(chan struct{}, 1)
	l := New(Options{Self: archive.Self{Account: "user@example.org"}, Store: st, Decrypt: dec, Rooms: []Room{{JID: testRoom, Nick: "bot"}},
		OnEvent: func(ev Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.CatchUp {
				got = append(got, *ev.Message)
			}
		},
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
	if strings.Join(calls, "|") != `new live=false real=""` {
		t.Errorf("decrypter calls %q", calls)
	}
	if len(got) != 1 || got[0].Body != "" || got[0].DecryptError != "sender's real JID unknown" || got[0].Encrypted != "urn:test" {
		t.Errorf("caught up %+v", got)
	}
}
