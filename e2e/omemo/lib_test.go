package omemo

import (
	"context"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// TestLibraryInterop drives pkg/omemo directly (no binary) against
// python-omemo: the crypto and wire format interoperate both ways, the
// prekey message first, then ratchet messages.
func TestLibraryInterop(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	// Bounds a broken run only; the machine may be shared and slow.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	s := srv.Dial(t, alice)
	sub := s.Subscribe()
	defer sub.Close()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := omemo.Open(ctx, st, srv.JID(alice), omemo.PolicyBTBV)
	if err != nil {
		t.Fatal(err)
	}
	c.Warn = t.Logf
	send := func(text string) {
		t.Helper()
		payloads, err := c.Seal(ctx, s, srv.JID(bob), []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		m := stanza.Message{ID: conn.NewID(), To: srv.JID(bob), Type: stanza.ChatMessage, Body: omemo.FallbackBody, Payload: payloads}
		if err := s.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []string{"first (prekey) message", "second message"} {
		send(text)
		ev := p.message(wait)
		if ev["body"] != text {
			t.Fatalf("peer got %v, want %q", ev, text)
		}
	}
	for _, text := range []string{"reply one", "reply two"} {
		p.cmd(map[string]any{"cmd": "send", "to": srv.JID(alice), "body": text})
		for {
			st, err := sub.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m, ok := st.(*stanza.Message)
			if !ok || !omemo.IsEncrypted(m) {
				continue
			}
			r := c.Decrypt(ctx, s, m, true)
			if r.Err != nil {
				t.Fatalf("decrypt: %v", r.Err)
			}
			if r.Empty {
				continue
			}
			if r.Body != text || r.Fingerprint != fpGroups(p.FP) {
				t.Fatalf("got %q from %s, want %q from %s", r.Body, r.Fingerprint, text, fpGroups(p.FP))
			}
			break
		}
	}
}

func fpGroups(hex string) string {
	out := ""
	for i := 0; i < len(hex); i += 8 {
		if i > 0 {
			out += " "
		}
		out += hex[i : i+8]
	}
	return out
}
