package bigstanza

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/outbox"
)

// listenFor runs "xmppctl listen --json" as user until a line on stdout or
// stderr contains want, after bob's session sent body; it returns that
// line and the process's peak RSS in KiB.
func listenFor(t *testing.T, user, bob, body, want string) (string, int64) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), append(srv.Flags(), "--data-dir", t.TempDir(), "-v", "--json", "listen")...)
	cmd.Env = append(os.Environ(), srv.AccountEnv(user)...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	scan := func(r interface{ Read([]byte) (int, error) }) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 128<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}
	go scan(stdout)
	go scan(stderr)
	deadline := time.After(2 * time.Minute)
	for ready := false; !ready; {
		select {
		case l := <-lines:
			ready = strings.Contains(l, "listening as")
		case <-deadline:
			t.Fatal("listen not ready")
		}
	}
	bs := srv.Dial(t, bob)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := bs.Send(ctx, outbox.Build(conn.NewID(), srv.JID(user), outbox.Content{Type: "chat", Body: body}, false)); err != nil {
		t.Fatal(err)
	}
	if err := bs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got string
	for got == "" {
		select {
		case l := <-lines:
			if strings.Contains(l, want) || strings.Contains(l, "ignored a stanza") {
				got = l
			}
		case <-deadline:
			t.Fatalf("listen printed nothing with %q", want)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("listen exit %v, want 130", err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if len(got) > 200 {
		got = got[:200] + "…"
	}
	return got, ru.Maxrss
}

// TestLargeMessageMemory prints listen's peak RSS for a small, a 1 MiB,
// a 10 MB and (with XMPPCTL_MEASURE=1) a 50 MB message body, and checks that a body over conn.MaxStanza is
// ignored with a warning while a small one is printed.
func TestLargeMessageMemory(t *testing.T) {
	testserver.Require(t, srv)
	sizes := []int{10, 1 << 20, 10 << 20}
	if os.Getenv("XMPPCTL_MEASURE") == "1" {
		sizes = append(sizes, 50<<20) // the case; heavy for every run
	}
	for _, size := range sizes {
		alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
		body := strings.Repeat("x", size-6) + "-end-"
		line, rss := listenFor(t, alice, bob, body, "-end-")
		t.Logf("body %d bytes: peak RSS %d KiB; printed %q", size, rss, line)
		if ignored := strings.Contains(line, "ignored a stanza"); ignored != (size > conn.MaxStanza) {
			t.Errorf("body of %d bytes: %q", size, line)
		}
	}
}
