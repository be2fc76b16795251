package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// TestConcurrentSessionsOneDataDir (issue 14): a listen running and a send
// started next to it with the same data dir (cron) each bind their own
// resource, so neither replaces the other: send exits 0 and listen keeps
// its session (no reconnect) and prints the next message. Before resource
// slots, ejabberd (no SASL2: classic bind of the stored resource) replaced
// the listener ("Replaced by new connection").
func TestConcurrentSessionsOneDataDir(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	dir := t.TempDir()
	p := startListen(t, alice, dir)
	for i := range 2 {
		mustOK(t, xmppctl(t, alice, "", "--data-dir", dir, "send", "-m", "from cron", srv.JID(bob)))
		m := rb.message(t, 10*time.Second, func(m *stanza.Message) bool { return m.Body == "from cron" })
		if store.Bare(m.From) != srv.JID(alice) {
			t.Errorf("send %d: message from %q", i, m.From)
		}
	}
	sendMsg(t, rb.s, srv.JID(alice), "after the sends")
	flush(t, rb.s)
	// The listener also prints the carbons of the two sends, which may
	// come first: wait for the message itself, not for any message.
	p.wait(t, "the message sent after the sends", func() bool {
		return slices.ContainsFunc(p.msgs, func(m store.Message) bool { return m.Body == "after the sends" })
	})
	if e := p.errText(); strings.Contains(e, "connection lost") || strings.Contains(e, "eplaced") {
		t.Errorf("the sends disturbed the listener's session:\n%s", e)
	}
	p.interrupt(t)
}
