package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// TestSendInterrupted: Ctrl-C while waiting for a receipt exits 130 with
// one line.
func TestSendInterrupted(t *testing.T) {
	testserver.Require(t, srv)
	alice, carol := srv.NewUser(t, "alice"), srv.NewUser(t, "carol")
	rc := online(t, carol)
	args := append(srv.Flags(), "--timeout", "60s", "send", "--receipt", "-m", "x", srv.JID(carol))
	cmd := exec.Command(testserver.Binary(t), args...)
	cmd.Env = append(os.Environ(), srv.AccountEnv(alice)...)
	cmd.Env = append(cmd.Env, "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The message reached carol, who sends no receipt: send is past
	// connecting and waits for the acknowledgement or the receipt.
	rc.message(t, 30*time.Second, fromUser(alice))
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130; stderr %q", err, stderr.String())
	}
	if got := strings.TrimSpace(stderr.String()); got != "xmppctl: interrupted" {
		t.Errorf("stderr %q", got)
	}
}
