package e2e

import (
	"testing"
	"time"
)

func TestSendOneMessage(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	res := xmppctl(t, alice, "", "send", "-m", "hello <&> world", srv.JID(bob))
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	m := rb.message(t, 10*time.Second, fromUser(alice))
	if m.Body != "hello <&> world" {
		t.Errorf("bob got body %q", m.Body)
	}
}
