package omemo

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

const testRoom = "ops@conference.example.org"

// roomMessage seals body for the room's members as from's client does and
// returns it as the room delivers it to a member: from the sender's
// occupant JID, type groupchat.
func roomMessage(t *testing.T, from *party, nick, body string, members ...string) *stanza.Message {
	t.Helper()
	m := stanza.Message{ID: "r1", To: testRoom, Type: stanza.GroupChatMessage, Body: body}
	if err := from.c.SealGroup(context.Background(), from.s, &m, members); err != nil {
		t.Fatal(err)
	}
	m.From, m.To = testRoom+"/"+nick, "bob@example.org/res"
	b, err := xml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got stanza.Message
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

// TestDecryptRoom: a groupchat message is decrypted with the sessions of
// the occupant's real JID (both versions); without it, it is refused with
// ErrRealJIDUnknown and nothing is consumed; a wrong real JID fails; our
// own reflected message is "sent by this device", as a sent carbon is.
func TestDecryptRoom(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions []Backend
	}{{"0.3", only03}, {"2", only2}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			alice, bob := newPartyV(t, "alice", tc.versions...), newPartyV(t, "bob", tc.versions...)
			alice.see(bob)
			bob.see(alice)
			m := roomMessage(t, alice, "al", "room secret", bob.jid)
			if r := bob.c.Decrypt(ctx, bob.s, m, true); !errors.Is(r.Err, ErrRealJIDUnknown) || r.Body != "" {
				t.Fatalf("without real JID: %+v", r)
			}
			r := bob.c.DecryptFrom(ctx, bob.s, m, true, alice.jid+"/phone")
			if r.Err != nil || r.Body != "room secret" || r.Fingerprint == "" || r.Trust != TrustBlind {
				t.Fatalf("with real JID: %+v", r)
			}
			if r := alice.c.Decrypt(ctx, alice.s, lastSent(t, bob), true); r.Err != nil || !r.Empty {
				t.Fatalf("alice on key transport: %+v", r)
			}
			m = roomMessage(t, alice, "al", "second", bob.jid)
			if r := bob.c.DecryptFrom(ctx, bob.s, m, true, alice.jid); r.Err != nil || r.Body != "second" {
				t.Fatalf("second: %+v", r)
			}
			m = roomMessage(t, alice, "al", "third", bob.jid)
			if r := bob.c.DecryptFrom(ctx, bob.s, m, true, "mallory@example.org"); r.Err == nil {
				t.Fatalf("as from another real JID: %+v", r)
			}
			own := roomMessage(t, alice, "al", "reflected", bob.jid)
			if r := alice.c.DecryptFrom(ctx, alice.s, own, true, alice.jid+"/xmppctl"); r.Err == nil ||
				!strings.Contains(r.Err.Error(), "sent by this device") {
				t.Fatalf("own reflection: %+v", r)
			}
		})
	}
}

// TestMessageSender: the JID whose sessions decrypt a message, and the
// addressing its OMEMO 2 envelope must name.
func TestMessageSender(t *testing.T) {
	const acct = "me@example.org"
	for _, tc := range []struct {
		name             string
		m                stanza.Message
		real             string
		sender, from, to string
	}{
		{"chat", stanza.Message{Type: stanza.ChatMessage, From: "a@x/r", To: acct + "/r"}, "", "a@x", "a@x", acct},
		{"chat ignores real JID", stanza.Message{Type: stanza.ChatMessage, From: "a@x/r", To: acct}, "m@x", "a@x", "a@x", acct},
		{"sent copy without from", stanza.Message{Type: stanza.ChatMessage, To: "a@x"}, "", acct, "", "a@x"},
		{"groupchat", stanza.Message{Type: stanza.GroupChatMessage, From: testRoom + "/al", To: acct + "/r"}, "al@x/phone", "al@x", "al@x", testRoom},
		{"groupchat unknown", stanza.Message{Type: stanza.GroupChatMessage, From: testRoom + "/al", To: acct}, "", "", "", testRoom},
	} {
		s, f, to := messageSender(&tc.m, tc.real, acct)
		if s != tc.sender || f != tc.from || to != tc.to {
			t.Errorf("%s: got %q %q %q, want %q %q %q", tc.name, s, f, to, tc.sender, tc.from, tc.to)
		}
	}
}
