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
// resource is bound classically. With SASL2 and Bind2 the server derives
// it from the stored user-agent id, which go-xmpp v0.4.1 sends with SCRAM
// but not with PLAIN, and PLAIN is the mechanism that logs in to Prosody
// 0.12 (SCRAM fails there, see login.go): that login goes through the
// relay (relay.go), which hides SASL2 from go-xmpp, so it binds the stored
// resource classically too.
func TestResourceStable(t *testing.T) {
	testserver.Require(t, srv)
	check := func(t *testing.T, jids []string) {
		t.Helper()
		if jids[0] != jids[1] || jids[1] != jids[2] || !strings.Contains(jids[0], "/xmppctl.") {
			t.Errorf("full JIDs %q, want one stored xmppctl.* resource", jids)
		}
	}
	t.Run("no SASL2", func(t *testing.T) {
		s, err := testserver.Start("XMPP_SASL2=0")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		check(t, threeJIDs(t, s))
	})
	t.Run("default server", func(t *testing.T) {
		// Prosody: SASL2 with Bind2, PLAIN. ejabberd 23.01: no SASL2.
		check(t, threeJIDs(t, srv))
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

// TestLoginRelay: on Prosody with mod_sasl2_bind2, where PLAIN is what
// logs in, the first login (after SCRAM failed) and the next ones (from
// the remembered mechanism) go through the relay, bind the stored
// resource, and still report the features the server really offered.
func TestLoginRelay(t *testing.T) {
	testserver.Require(t, srv)
	testserver.Only(t, srv, testserver.Prosody, "the test server offering SASL2 with Bind2 is Prosody")
	o := srv.Options(t, "alice")
	for i := range 2 {
		s, err := conn.Dial(ctx(t), o)
		if err != nil {
			t.Fatal(err)
		}
		id, err := conn.LoadIdentity(o.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		if !conn.Relayed(s) || !strings.HasSuffix(s.JID(), "/"+id.Resource) {
			t.Errorf("login %d: relayed %v, JID %q, want the stored resource %s", i, conn.Relayed(s), s.JID(), id.Resource)
		}
		sasl2 := false
		for _, f := range s.(conn.LoginInfo).StreamFeatures() {
			sasl2 = sasl2 || strings.Contains(string(f), "urn:xmpp:sasl:2")
		}
		if !sasl2 {
			t.Errorf("login %d: LoginInfo lost the server's SASL2 offer", i)
		}
		if !conn.RelayHandedOff(s) {
			t.Errorf("login %d: after login the relay still forwards what the server or go-xmpp writes", i)
		}
		if err := s.Flush(ctx(t)); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}
