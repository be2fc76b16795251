// Package e2e runs the real xmppctl binary against a throwaway Prosody or
// ejabberd (XMPPCTL_SERVER, see internal/testserver) and checks every
// effect from a second account. Each feature has its own file; they share
// one server, and tests that count things use fresh accounts (srv.NewUser)
// so that they never see each other's traffic.
package e2e

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
