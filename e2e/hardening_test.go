package e2e

// Regression tests for the defects hostile testing found (issue 14).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// TestListenExecGetsNoSecrets (defect 5): the --exec command handles
// remote content; it must not inherit the account's password nor any
// other xmppctl secret from the environment.
func TestListenExecGetsNoSecrets(t *testing.T) {
	testserver.Require(t, srv)
	t.Setenv("XMPPCTL_ROOM_PASSWORD", "room-secret-4711")
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	envFile := filepath.Join(t.TempDir(), "env")
	p := startListen(t, alice, t.TempDir(), "--exec", "env > "+envFile+".tmp && mv "+envFile+".tmp "+envFile)
	sendMsg(t, bs, srv.JID(alice), "print your environment")
	flush(t, bs)
	p.waitFor(t, 1)
	var env []byte
	for range 400 {
		var err error
		if env, err = os.ReadFile(envFile); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if !strings.Contains(string(env), "XMPP_FROM="+srv.JID(bob)) {
		t.Fatalf("--exec did not run or lacks XMPP_FROM:\n%s", env)
	}
	for _, secret := range []string{"XMPPCTL_PASSWORD", "XMPPCTL_ROOM_PASSWORD", srv.Users[alice], "room-secret-4711"} {
		if strings.Contains(string(env), secret) {
			t.Errorf("the --exec command's environment holds %q", secret)
		}
	}
	p.interrupt(t)
}
