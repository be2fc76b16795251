package listen

import (
	"context"
	"encoding/xml"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// TestSubscriptionRequests: requests are reported once each; only those
// from --approve-from JIDs and (with ApproveRoster) roster contacts are
// approved; our own account and other presence types are not requests.
func TestSubscriptionRequests(t *testing.T) {
	s := xmpptest.New()
	s.Full = "user@example.org/listen"
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		if strings.Contains(xmlOf(iq), "jabber:iq:roster") {
			var el stanza.Element
			_ = xml.Unmarshal([]byte(`<query xmlns='jabber:iq:roster'><item jid='known@example.org' subscription='none'/></query>`), &el)
			return &stanza.IQ{Type: "result", Query: el}, nil
		}
		return &stanza.IQ{Type: "result"}, nil
	}
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events := make(chan SubscriptionEvent, 10)
	l := New(Options{Self: archive.Self{Account: "user@example.org"}, Store: st,
		Subscriptions: Subscriptions{ApproveFrom: []string{"friend@example.org"}, ApproveRoster: true,
			OnRequest: func(ev SubscriptionEvent) { events <- ev }}})
	// Serve subscribes before it sends anything: deliver after its first
	// stanza.
	started := make(chan struct{})
	var once sync.Once
	s.OnSend = func(any) []stanza.Stanza { once.Do(func() { close(started) }); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, s) }()
	defer func() { cancel(); <-done }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve sent nothing")
	}
	for _, p := range []stanza.Presence{
		{Type: stanza.SubscribePresence, From: "friend@example.org", Status: "hi"},
		{Type: stanza.SubscribePresence, From: "stranger@example.net"},
		{Type: stanza.SubscribePresence, From: "user@example.org"},
		{Type: stanza.SubscribedPresence, From: "other@example.org"},
		{Type: stanza.SubscribePresence, From: "friend@example.org"},
		{Type: stanza.SubscribePresence, From: "known@example.org/phone"},
	} {
		s.Deliver(&p)
	}
	want := []SubscriptionEvent{
		{From: "friend@example.org", Status: "hi", Approved: true},
		{From: "stranger@example.net"},
		{From: "known@example.org", Approved: true},
	}
	for i, w := range want {
		select {
		case got := <-events:
			if got != w {
				t.Errorf("event %d = %+v, want %+v", i, got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d missing", i)
		}
	}
	var approvals []string
	for _, x := range s.Sent() {
		if strings.Contains(x, `type="subscribed"`) {
			approvals = append(approvals, x)
		}
	}
	if len(approvals) != 2 || !strings.Contains(approvals[0], `to="friend@example.org"`) || !strings.Contains(approvals[1], `to="known@example.org"`) {
		t.Errorf("approvals sent: %q", approvals)
	}
	select {
	case ev := <-events:
		t.Errorf("extra event %+v", ev)
	default:
	}
}
