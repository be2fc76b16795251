// Package bigstanza measures what one large stanza costs xmppctl (issue
// 14 defect 12). It runs its own Prosody whose stanza size limit is raised
// far above the default, so that a 50 MB message gets through.
package bigstanza

import (
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

var srv *testserver.Server

func TestMain(m *testing.M) {
	testserver.Main(m, &srv, "XMPP_STANZA_LIMIT=104857600", "XMPP_SASL2=0")
}
