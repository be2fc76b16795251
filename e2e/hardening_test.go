package e2e

// Regression tests for the defects hostile testing found (issue 14).

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
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
	p := startListen(t, alice, t.TempDir(), "--exec", "env > "+envFile+" && echo exec-done")
	sendMsg(t, bs, srv.JID(alice), "print your environment")
	flush(t, bs)
	p.waitFor(t, 1)
	p.waitLine(t, "exec-done", 1)
	env, _ := os.ReadFile(envFile)
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

// rawMessage is a message whose children are given as XML: the hostile
// shapes below are exactly what a stranger's client can put on the wire.
type rawMessage struct {
	XMLName xml.Name `xml:"jabber:client message"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr,omitempty"`
	ID      string   `xml:"id,attr"`
	Inner   string   `xml:",innerxml"`
}

// hostileChildren are message contents that go-xmpp v0.4.1 fails to
// parse after reading the whole stanza (pkg/conn/recvskip.go): each ended
// the receiving session (issue 14 defect 2).
var hostileChildren = []string{
	`<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'/></items></event>`,
	`<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'><data xmlns='urn:xmpp:avatar:data'>AAAA</data></item></items></event>`,
	`<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'>text only</item></items></event>`,
	`<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'/></event>`,
	`<body>and a body too</body><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='y'/></items></event>`,
}

// sendHostile sends every hostile shape from s (a stranger: not in the
// target's roster) to to, as messages of type typ, and waits until the
// server has processed them.
func sendHostile(t *testing.T, s conn.Session, to, typ string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, inner := range hostileChildren {
		if err := s.Send(ctx, rawMessage{To: to, Type: typ, ID: conn.NewID(), Inner: inner}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestListenSurvivesHostileStanzas (defect 2): a stranger's hostile
// headlines reach a running listen; its session survives (no reconnect)
// and the next normal message is printed.
func TestListenSurvivesHostileStanzas(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob, mallory := srv.NewUser(t, "alice"), srv.NewUser(t, "bob"), srv.NewUser(t, "mallory")
	bs, ms := srv.Dial(t, bob), srv.Dial(t, mallory)
	p := startListen(t, alice, t.TempDir())
	sendHostile(t, ms, srv.JID(alice), "headline")
	sendHostile(t, ms, srv.JID(alice), "chat")
	sendMsg(t, bs, srv.JID(alice), "after the hostile ones")
	flush(t, bs)
	var got []string
	for _, m := range p.waitFor(t, 1) {
		got = append(got, m.Body)
	}
	if !slices.Contains(got, "after the hostile ones") {
		t.Errorf("printed %q, want the normal message", got)
	}
	if strings.Contains(p.errText(), "connection lost") {
		t.Errorf("a stranger's stanza dropped the session:\n%s", p.errText())
	}
	p.interrupt(t)
}

// TestArchiveSyncSurvivesHostileStanzas (defect 2): hostile messages kept
// in offline storage are flushed to archive sync's session at login; the
// sync still completes and stores the normal message sent after them.
func TestArchiveSyncSurvivesHostileStanzas(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob, mallory := srv.NewUser(t, "alice"), srv.NewUser(t, "bob"), srv.NewUser(t, "mallory")
	bs, ms := srv.Dial(t, bob), srv.Dial(t, mallory)
	sendHostile(t, ms, srv.JID(alice), "normal") // alice is offline: stored for her
	sendHostile(t, ms, srv.JID(alice), "chat")
	sendMsg(t, bs, srv.JID(alice), "after the hostile ones")
	flush(t, bs)
	dir := t.TempDir()
	res := archiveRun(t, alice, dir, "archive", "sync")
	mustOK(t, res)
	var bodies []string
	for _, m := range listJSON(t, alice, dir) {
		bodies = append(bodies, m.Body)
	}
	if !slices.Contains(bodies, "after the hostile ones") {
		t.Errorf("archive holds %q, want the normal message", bodies)
	}
}

// dataDirModes lists every file in dir whose mode is not 0600 (0700 for
// directories).
func dataDirModes(t *testing.T, dir string) []string {
	t.Helper()
	var bad []string
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err // dir itself is the test's
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700 | fs.ModeDir
		} else {
			n++
		}
		if info.Mode() != want {
			bad = append(bad, fmt.Sprintf("%s %v", path, info.Mode()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no files in %s", dir)
	}
	return bad
}

// TestDataDirFilesArePrivate (defect 10): every file archive sync and
// listen leave in the data dir (the SQLite store with its -wal and -shm
// files, which hold message bodies, and everything else) is 0600.
func TestDataDirFilesArePrivate(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	sendMsg(t, bs, srv.JID(alice), "stored while offline")
	flush(t, bs)
	dir := t.TempDir()
	mustOK(t, archiveRun(t, alice, dir, "archive", "sync"))
	if bad := dataDirModes(t, dir); len(bad) > 0 {
		t.Errorf("after archive sync:\n%s", strings.Join(bad, "\n"))
	}
	dir2 := t.TempDir()
	p := startListen(t, alice, dir2)
	sendMsg(t, bs, srv.JID(alice), "live")
	flush(t, bs)
	p.waitFor(t, 1)
	// Checked while listen runs: the -wal and -shm files exist now.
	if bad := dataDirModes(t, dir2); len(bad) > 0 {
		t.Errorf("while listen runs:\n%s", strings.Join(bad, "\n"))
	}
	p.interrupt(t)
}

// passwordCommandConfig writes a config whose password_command first
// signals on a FIFO, then sleeps far longer than any test waits.
func passwordCommandConfig(t *testing.T, user string) (string, <-chan struct{}) {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		if b, err := os.ReadFile(fifo); err == nil && len(b) > 0 {
			close(started)
		}
	}()
	path := srv.Config(t, "nobody", fmt.Sprintf(`
[account.slow]
jid = %q
password_command = "echo go > %s; sleep 300; echo %s"
`, srv.JID(user), fifo, srv.Users[user]))
	return path, started
}

// TestPasswordCommandInterrupted (defect 9): SIGINT or SIGTERM while the
// password command runs ends it (with what it started) and exits 130.
func TestPasswordCommandInterrupted(t *testing.T) {
	testserver.Require(t, srv)
	alice := srv.NewUser(t, "alice")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			path, started := passwordCommandConfig(t, alice)
			cmd := exec.Command(testserver.Binary(t), "--config", path, "--account", "slow", "send", "-m", "x", srv.JID(alice))
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			<-started
			_ = cmd.Process.Signal(sig)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 130 {
					t.Fatalf("exit %v, want 130; stderr %q", err, stderr.String())
				}
			case <-time.After(60 * time.Second): // hang detector; the command sleeps 300 s
				_ = cmd.Process.Kill()
				t.Fatal("xmppctl waits for the password command after the signal")
			}
			if got := strings.TrimSpace(stderr.String()); got != "xmppctl: interrupted" {
				t.Errorf("stderr %q", got)
			}
		})
	}
}

// TestPasswordCommandTimeout (defect 9): --timeout bounds the password
// command: exit 7.
func TestPasswordCommandTimeout(t *testing.T) {
	testserver.Require(t, srv)
	alice := srv.NewUser(t, "alice")
	path, _ := passwordCommandConfig(t, alice)
	res := testserver.Run(t, "", nil, "--config", path, "--account", "slow", "--timeout", "500ms", "send", "-m", "x", srv.JID(alice))
	wantExit(t, res, 7, "password_command")
}

// TestPasswordCommandFailureMessage (defect 11): a failing command's
// stderr is not copied into the error; its exit status is.
func TestPasswordCommandFailureMessage(t *testing.T) {
	testserver.Require(t, srv)
	path := srv.Config(t, "nobody", `
[account.bad]
jid = "x@localhost"
password_command = "echo 'gpg: cannot decrypt hunter2' >&2; exit 2"
`)
	res := testserver.Run(t, "", nil, "--config", path, "--account", "bad", "send", "-m", "x", "y@localhost")
	if res.Code == 0 || strings.Contains(res.Stderr, "hunter2") || strings.Contains(res.Stderr, "gpg") {
		t.Fatalf("exit %d, stderr %q: the command's output was copied", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "password_command failed: exit status 2") {
		t.Errorf("stderr %q does not say that the command failed and how", res.Stderr)
	}
}
