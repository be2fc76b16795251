package omemo

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

type mucJoin struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
}

type ownerQuery struct {
	XMLName xml.Name    `xml:"http://jabber.org/protocol/muc#owner query"`
	Form    *disco.Form `xml:"jabber:x:data x"`
}

type adminQuery struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#admin query"`
	Item    struct {
		Affiliation string `xml:"affiliation,attr"`
		JID         string `xml:"jid,attr"`
	} `xml:"item"`
}

// makeRoom creates a room owned by s's account, configured with the given
// roomconfig fields, with members as members; the owner stays in it.
func makeRoom(t *testing.T, s conn.Session, room string, fields map[string]string, members ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sub := s.Subscribe()
	defer sub.Close()
	if err := s.Send(ctx, stanza.Presence{To: room + "/owner", Payload: []any{mucJoin{}}}); err != nil {
		t.Fatal(err)
	}
	for { // our own presence back: the room exists (locked until configured)
		st, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := st.(*stanza.Presence); ok && p.From == room+"/owner" {
			break
		}
	}
	form := &disco.Form{Type: "submit", Fields: []disco.Field{{Var: "FORM_TYPE", Values: []string{"http://jabber.org/protocol/muc#roomconfig"}}}}
	for k, v := range fields {
		form.Fields = append(form.Fields, disco.Field{Var: k, Values: []string{v}})
	}
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: "set", To: room, Payload: ownerQuery{Form: form}}); err != nil {
		t.Fatalf("configure %s: %v", room, err)
	}
	for _, m := range members {
		q := adminQuery{}
		q.Item.Affiliation, q.Item.JID = "member", m
		if _, err := s.SendIQ(ctx, stanza.IQ{Type: "set", To: room, Payload: q}); err != nil {
			t.Fatalf("add member %s: %v", m, err)
		}
	}
}

// TestSendOMEMORoom: in a non-anonymous members-only room, send --muc
// --omemo encrypts to the members' devices (python-omemo decrypts it in the
// room); an anonymous room is refused with exit 5 and a hint, nothing sent.
func TestSendOMEMORoom(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	owner := srv.Dial(t, alice.user)
	room := strings.ToLower(bob) + "-private@" + srv.MUCHost
	makeRoom(t, owner, room, map[string]string{"muc#roomconfig_membersonly": "1", "muc#roomconfig_whois": "anyone"},
		srv.JID(bob))
	p := startPeer(t, bob)
	p.cmd(map[string]any{"cmd": "join", "room": room, "nick": "bob"})
	p.expect("joined", wait)
	if r := alice.run(t, "", "send", "--muc", "--omemo", "--nick", "bot", "-m", "room secret", room); r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	if ev := p.message(wait); ev["body"] != "room secret" {
		t.Fatalf("peer got %v", ev)
	}

	open := strings.ToLower(bob) + "-open@" + srv.MUCHost
	makeRoom(t, owner, open, map[string]string{"muc#roomconfig_whois": "moderators"})
	r := alice.run(t, "", "send", "--muc", "--omemo", "--nick", "bot", "-m", "must not leak", open)
	if r.Code != 5 || !strings.Contains(r.Stderr, "anonymous") || !strings.Contains(r.Stderr, "hint:") {
		t.Fatalf("anonymous room: exit %d, stderr %q", r.Code, r.Stderr)
	}
}
