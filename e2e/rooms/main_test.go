// Package rooms runs xmppctl's group-chat commands (listen --muc, muc,
// bookmarks, send --muc with archive sync --room) against a throwaway
// Prosody with its MUC component (conference.localhost, mod_muc_mam), with
// slixmpp (peer/muc_peer.py, Debian's python3-slixmpp) as the independent
// occupant, owner and second device. It has its own server so that these
// slow tests run in parallel with the other packages.
package rooms

import (
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

var srv *testserver.Server

func TestMain(m *testing.M) { testserver.Main(m, &srv) }

// xmppctl runs the binary as user with the server flags prepended.
func xmppctl(t *testing.T, user, stdin string, args ...string) testserver.Result {
	t.Helper()
	testserver.Require(t, srv)
	return testserver.Run(t, stdin, srv.AccountEnv(user), append(srv.Flags(), args...)...)
}

func mustOK(t *testing.T, res testserver.Result) {
	t.Helper()
	if res.Code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", res.Code, res.Stderr)
	}
}
