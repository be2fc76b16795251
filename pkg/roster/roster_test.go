package roster

import (
	"context"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func element(t testing.TB, raw string) stanza.Element {
	t.Helper()
	var el stanza.Element
	if err := xml.Unmarshal([]byte(raw), &el); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
	return el
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []Item
	}{
		{"empty", `<query xmlns='jabber:iq:roster'/>`, []Item{}},
		{"full item", `<query xmlns='jabber:iq:roster' ver='3'><item jid='Bob@Example.org' name='Bob' subscription='both'><group>Friends</group><group>Work</group><group>Friends</group></item></query>`,
			[]Item{{JID: "bob@example.org", Name: "Bob", Groups: []string{"Friends", "Work"}, Subscription: Both}}},
		{"no subscription means none, ask kept", `<query xmlns='jabber:iq:roster'><item jid='c@example.org' ask='subscribe'/></query>`,
			[]Item{{JID: "c@example.org", Groups: []string{}, Subscription: None, Ask: AskSubscribe}}},
		{"invalid items dropped", `<query xmlns='jabber:iq:roster'>
			<item jid='a@example.org/res' subscription='both'/>
			<item jid='' subscription='both'/>
			<item jid='b@example.org' subscription='weird'/>
			<item jid='c@example.org' ask='unsubscribe'/>
			<item jid='d@example.org' subscription='remove'/>
			<item jid='e@example.org' subscription='from'/></query>`,
			[]Item{{JID: "e@example.org", Groups: []string{}, Subscription: From}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(element(t, tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if items, err := Parse(stanza.Element{}); err != nil || items != nil {
		t.Errorf("no query: %v %v", items, err)
	}
	if _, err := Parse(element(t, `<blocklist xmlns='urn:xmpp:blocking'/>`)); err == nil {
		t.Error("a foreign element parsed as a roster")
	}
}

func TestParsePush(t *testing.T) {
	const self = "user@example.org/test"
	push := `<query xmlns='jabber:iq:roster'><item jid='bob@example.org' subscription='to'/></query>`
	tests := []struct {
		name, from string
		typ        stanza.IQType
		query      string
		wantErr    error // nil: accepted
	}{
		{"no from", "", "set", push, nil},
		{"own bare JID", "user@example.org", "set", push, nil},
		{"own bare JID, other case", "User@Example.org", "set", push, nil},
		{"hostile: another user", "mallory@evil.example", "set", push, ErrNotOurs},
		{"hostile: own full JID of another resource", "user@example.org/other", "set", push, ErrNotOurs},
		{"hostile: the server domain", "example.org", "set", push, ErrNotOurs},
		{"hostile: invalid from", "@@", "set", push, ErrNotOurs},
		{"two items", "", "set", `<query xmlns='jabber:iq:roster'><item jid='a@example.org'/><item jid='b@example.org'/></query>`, errAny},
		{"no items", "", "set", `<query xmlns='jabber:iq:roster'/>`, errAny},
		{"bad item", "", "set", `<query xmlns='jabber:iq:roster'><item jid='a@example.org' subscription='all'/></query>`, errAny},
		{"get", "", "get", push, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iq := &stanza.IQ{Type: tt.typ, From: tt.from, Query: element(t, tt.query)}
			it, err := ParsePush(iq, self)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr == nil:
				if it.JID != "bob@example.org" || it.Subscription != To {
					t.Errorf("item %+v", it)
				}
			case err == nil:
				t.Fatalf("accepted %+v", it)
			case tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestHandlePushes checks the answers: a result for our own push, an error
// that reveals nothing for a forged one, which is not passed on.
func TestHandlePushes(t *testing.T) {
	s := xmpptest.New()
	var got []Item
	HandlePushes(s, func(it Item) { got = append(got, it) })
	h := s.Handler(NS, "query")
	if h == nil {
		t.Fatal("no handler")
	}
	q := element(t, `<query xmlns='jabber:iq:roster'><item jid='bob@example.org' subscription='remove'/></query>`)
	if _, err := h(context.Background(), &stanza.IQ{Type: "set", Query: q}); err != nil {
		t.Fatalf("own push refused: %v", err)
	}
	_, err := h(context.Background(), &stanza.IQ{Type: "set", From: "mallory@evil.example", Query: q})
	var se *stanza.Error
	if !errors.As(err, &se) || se.Condition != "service-unavailable" {
		t.Errorf("forged push answered %v", err)
	}
	if len(got) != 1 || got[0].Subscription != SubscriptionRemove {
		t.Errorf("passed on %+v", got)
	}
}

func TestGetSetDelete(t *testing.T) {
	s := xmpptest.New()
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		if iq.Type == "get" {
			return &stanza.IQ{Type: "result", Query: element(t,
				`<query xmlns='jabber:iq:roster'><item jid='bob@example.org' name='Bob' subscription='both'/></query>`)}, nil
		}
		return &stanza.IQ{Type: "result"}, nil
	}
	ctx := context.Background()
	items, err := Get(ctx, s)
	if err != nil || len(items) != 1 || items[0].Name != "Bob" {
		t.Fatalf("Get = %+v, %v", items, err)
	}
	if it, ok := Find(items, "BOB@example.org"); !ok || it.Subscription != Both {
		t.Errorf("Find = %+v %v", it, ok)
	}
	if err := Set(ctx, s, Item{JID: "carol@example.org", Name: "C<&>", Groups: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, s, "carol@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := Send(ctx, s, "carol@example.org", stanza.SubscribePresence); err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	want := []string{
		`<iq xmlns="jabber:client" id="*" type="get"><query xmlns="jabber:iq:roster"></query></iq>`,
		`<iq xmlns="jabber:client" id="*" type="set"><query xmlns="jabber:iq:roster"><item jid="carol@example.org" name="C&lt;&amp;&gt;"><group>a</group><group>b</group></item></query></iq>`,
		`<iq xmlns="jabber:client" id="*" type="set"><query xmlns="jabber:iq:roster"><item jid="carol@example.org" subscription="remove"></item></query></iq>`,
		`<presence xmlns="jabber:client" id="*" to="carol@example.org" type="subscribe"></presence>`,
	}
	if len(sent) != len(want) {
		t.Fatalf("sent %d stanzas: %q", len(sent), sent)
	}
	for i := range want {
		if got := maskID(sent[i]); got != want[i] {
			t.Errorf("sent[%d]\n got %s\nwant %s", i, got, want[i])
		}
	}
}

// maskID replaces the random id="…" attribute value.
func maskID(s string) string {
	i := strings.Index(s, `id="`)
	if i < 0 {
		return s
	}
	j := strings.IndexByte(s[i+4:], '"')
	return s[:i+4] + "*" + s[i+4+j:]
}

func TestParseRequestAndPending(t *testing.T) {
	const self = "user@example.org/test"
	tests := []struct {
		p    stanza.Presence
		want Request
		ok   bool
	}{
		{stanza.Presence{Type: stanza.SubscribePresence, From: "bob@example.org", Status: "hi"}, Request{JID: "bob@example.org", Status: "hi"}, true},
		{stanza.Presence{Type: stanza.SubscribePresence, From: "bob@example.org/phone"}, Request{JID: "bob@example.org"}, true},
		{stanza.Presence{Type: stanza.SubscribePresence, From: "transport.example.org"}, Request{JID: "transport.example.org"}, true},
		{stanza.Presence{Type: stanza.SubscribePresence, From: "user@example.org"}, Request{}, false},
		{stanza.Presence{Type: stanza.SubscribePresence, From: ""}, Request{}, false},
		{stanza.Presence{Type: stanza.SubscribePresence, From: "a@@b"}, Request{}, false},
		{stanza.Presence{Type: stanza.SubscribedPresence, From: "bob@example.org"}, Request{}, false},
		{stanza.Presence{From: "bob@example.org"}, Request{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseRequest(&tt.p, self)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseRequest(%+v) = %+v %v, want %+v %v", tt.p, got, ok, tt.want, tt.ok)
		}
	}
	s := xmpptest.New()
	sub := s.Subscribe()
	s.Deliver(&stanza.Presence{Type: stanza.SubscribePresence, From: "bob@example.org"})
	s.Deliver(&stanza.Message{From: "bob@example.org", Body: "x"})
	s.Deliver(&stanza.Presence{Type: stanza.SubscribePresence, From: "bob@example.org/2"})
	s.Deliver(&stanza.Presence{Type: stanza.SubscribePresence, From: "carol@example.org"})
	reqs, err := Pending(context.Background(), s, sub)
	if err != nil || len(reqs) != 2 || reqs[0].JID != "bob@example.org" || reqs[1].JID != "carol@example.org" {
		t.Errorf("Pending = %+v %v", reqs, err)
	}
	if s.Flushes() != 1 {
		t.Errorf("Pending did not wait for the server (%d flushes)", s.Flushes())
	}
	s.Deliver(&stanza.Presence{Type: stanza.ErrorPresence, From: "dave@example.org", Error: &stanza.Error{Condition: "remote-server-not-found"}})
	s.Deliver(&stanza.Presence{Type: stanza.ErrorPresence, From: "eve@example.org"})
	ref := Refused(sub, []string{"Dave@example.org", "frank@example.org"})
	if len(ref) != 1 || ref["dave@example.org"] == nil {
		t.Errorf("Refused = %v", ref)
	}
	var _ conn.Subscription = sub
}

func TestPreApproval(t *testing.T) {
	with := []byte(`<stream:features><sub xmlns='urn:xmpp:features:pre-approval'/><ver xmlns='urn:xmpp:features:rosterver'/></stream:features>`)
	without := []byte(`<stream:features><ver xmlns='urn:xmpp:features:rosterver'/></stream:features>`)
	if !PreApproval([][]byte{without, with}) {
		t.Error("not found")
	}
	if PreApproval([][]byte{without, []byte("<<<")}) || PreApproval(nil) {
		t.Error("found where absent")
	}
}
