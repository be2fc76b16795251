// Package omemo runs OMEMO 0.3 end to end against a throwaway Prosody,
// with python-omemo (Debian python3-omemo, python3-oldmemo on slixmpp,
// driven through peer.py) as the independent peer. It has its own server
// so that it runs in parallel with the other e2e packages.
package omemo

import (
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

var srv *testserver.Server

// https slots: upload --omemo refuses plain-http upload URLs (media_test.go).
func TestMain(m *testing.M) { testserver.Main(m, &srv, "XMPP_UPLOAD_SCHEME=https") }

// wait bounds every wait for the peer, the server or the binary: only a
// broken run ever reaches it (the machine may be shared and slow).
const wait = 2 * time.Minute
