package conn_test

import (
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
)

// threeJIDs logs in three times with one data dir and returns the full JIDs.
func threeJIDs(t *testing.T, s *testserver.Server) []string {
	t.Helper()
	o := s.Options(t, "alice")
	var out []string
	for range 3 {
		sess, err := conn.Dial(ctx(t), o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sess.JID())
		sess.Close()
	}
	return out
}

// TestResourceStable: the account's resource is the same on every login
// (the guideline's "Resource generation"). Without SASL2 the stored
// resource is bound; with SASL2 and Bind2 the server derives it from the
// stored user-agent id, which go-xmpp v0.4.1 sends with SCRAM but not with
// PLAIN (xmpp.go, the SASL2 "PLAIN" branch of init writes <authenticate>
// without <user-agent>), and PLAIN is the mechanism that logs in to
// Prosody 0.12 (SCRAM fails there, see login.go): that case stays unstable
// until the library sends the user-agent, or the stream goes through a
// relay that hides SASL2 from it (see the package documentation).
func TestResourceStable(t *testing.T) {
	testserver.Require(t, srv)
	t.Run("no SASL2", func(t *testing.T) {
		s, err := testserver.Start("XMPP_SASL2=0")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		jids := threeJIDs(t, s)
		if jids[0] != jids[1] || jids[1] != jids[2] || !strings.Contains(jids[0], "/xmppctl.") {
			t.Errorf("full JIDs %q, want one stored xmppctl.* resource", jids)
		}
	})
	t.Run("SASL2 with PLAIN", func(t *testing.T) {
		jids := threeJIDs(t, srv)
		if jids[0] == jids[1] && jids[1] == jids[2] {
			return
		}
		t.Skipf("KNOWN (issue 14): go-xmpp's SASL2 PLAIN login sends no user-agent, Bind2 picks a new resource each time: %q", jids)
	})
}

// TestConcurrentSessionsOneDataDir: two live sessions of one data dir in
// one process bind different resources (slot 0, the stored one, and slot
// 1), neither replaces the other, and a session dialled after one of them
// closed takes that slot again (a reconnect keeps its resource).
func TestConcurrentSessionsOneDataDir(t *testing.T) {
	testserver.Require(t, srv)
	o := srv.Options(t, "alice")
	a, err := conn.Dial(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := conn.Dial(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if a.JID() == b.JID() {
		t.Fatalf("both sessions bound %q", a.JID())
	}
	for _, s := range []conn.Session{a, b} {
		if err := s.Flush(ctx(t)); err != nil {
			t.Fatalf("%s: %v", s.JID(), err)
		}
	}
	first := b.JID()
	b.Close()
	c, err := conn.Dial(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.JID() != first {
		t.Errorf("session after the second closed: %q, want its slot again: %q", c.JID(), first)
	}
	for _, s := range []conn.Session{a, c} {
		if err := s.Flush(ctx(t)); err != nil {
			t.Fatalf("%s: %v", s.JID(), err)
		}
		select {
		case <-s.Done():
			t.Errorf("%s ended: %v", s.JID(), s.Err())
		default:
		}
	}
}
