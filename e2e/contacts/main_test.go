// Package contacts runs the roster, subscription and read-state commands
// (the real binary) against a throwaway Prosody, with slixmpp
// (peer/contact_peer.py) as the independent contact and as the account's
// other device.
package contacts

import (
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

var srv *testserver.Server

func TestMain(m *testing.M) { testserver.Main(m, &srv) }
