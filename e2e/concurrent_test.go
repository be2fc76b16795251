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
	var got []string
	for _, m := range p.waitFor(t, 1) {
		got = append(got, m.Body)
	}
	if !slices.Contains(got, "after the sends") {
		t.Errorf("listen printed %q, want the message sent after the sends", got)
	}
	if e := p.errText(); strings.Contains(e, "connection lost") || strings.Contains(e, "eplaced") {
		t.Errorf("the sends disturbed the listener's session:\n%s", e)
	}
	p.interrupt(t)
}
