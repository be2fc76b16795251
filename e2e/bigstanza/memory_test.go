package bigstanza

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
)

// listenFor runs "xmppctl listen --json" as user until a line on stdout or
// stderr contains want, after bob sent body (xmppctl send); it returns that
// line and the process's peak RSS in KiB.
func listenFor(t *testing.T, user, bob, body, want string, global ...string) (string, int64) {
	t.Helper()
	args := append(append(srv.Flags(), global...), "--data-dir", t.TempDir(), "-v", "--json", "listen")
	cmd := exec.Command(testserver.Binary(t), args...)
	// The collector's settings are xmppctl's own (cmd/memlimit.go).
	cmd.Env = append(withoutGC(os.Environ()), srv.AccountEnv(user)...)
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
	// The sender is another xmppctl process, built as shipped: the
	// listener's peak depends on how the stanza arrives, and a sender in
	// this (race-instrumented, under the suite's load) test process
	// delivered it differently enough to move the listener's peak by tens
	// of MB. send exits 0 once the server acknowledged the message.
	snd := exec.Command(testserver.Binary(t), append(srv.Flags(), "--data-dir", t.TempDir(), "send", srv.JID(user))...)
	snd.Env = append(os.Environ(), srv.AccountEnv(bob)...)
	snd.Stdin = strings.NewReader(body)
	if out, err := snd.CombinedOutput(); err != nil {
		t.Fatalf("send: %v: %s", err, out)
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
	// The peak is read from the live process, not from its rusage after
	// exit: Linux folds the high-water mark of the address space the child
	// had before exec, this test process's own (vfork), into ru_maxrss, so
	// that figure moved with this process's memory (race instrumentation,
	// the bodies it builds) rather than listen's.
	peak := vmHWM(t, cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("listen exit %v, want 130", err)
	}
	if len(got) > 200 {
		got = got[:200] + "…"
	}
	return got, peak
}

// vmHWM is the peak resident set of a running process in KiB.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestLargeMessageMemory (issue 14 defect 12) measures listen's peak RSS
// for a small message (the baseline), a 1 MiB one, a 6 MB one (delivered,
// past conn's release threshold) and a 10 MB one (over conn.MaxStanza:
// ignored with a warning); with XMPPCTL_MEASURE=1 also the 50 MB
// one. What one stanza may cost beyond the baseline is bounded by
// stanzaBudget: the test fails when a change adds a copy of the stanza
// that is alive at the peak.
func TestLargeMessageMemory(t *testing.T) {
	testserver.Require(t, srv)
	sizes := []int{10, 1 << 20, 6_000_000, 10 << 20}
	if os.Getenv("XMPPCTL_MEASURE") == "1" {
		sizes = append(sizes, 50<<20) // the case; heavy for every run
	}
	var base int64
	for _, size := range sizes {
		alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
		body := strings.Repeat("x", size-6) + "-end-"
		line, rss := listenFor(t, alice, bob, body, "-end-")
		rss <<= 10 // KiB
		if base == 0 {
			t.Logf("body %d bytes: peak RSS %d KiB (the baseline); printed %q", size, rss>>10, line)
		} else {
			t.Logf("body %d bytes: peak RSS %d KiB (%+.1f× the body over the baseline); printed %q",
				size, rss>>10, float64(rss-base)/float64(size), line)
		}
		dropped := size > conn.MaxStanza
		if ignored := strings.Contains(line, "ignored a stanza"); ignored != dropped {
			t.Errorf("body of %d bytes: %q", size, line)
		}
		switch {
		case base == 0:
			base = rss
		case size >= 4<<20:
			if budget := stanzaBudget(size, dropped); rss-base > budget {
				t.Errorf("body of %d bytes cost %d KiB over the baseline, more than the %d KiB allowed",
					size, (rss-base)>>10, budget>>10)
			}
		}
	}
}

// stanzaBudget is what a message with a body of size bytes may add to
// listen's peak RSS. go-xmpp (which must not be patched) decodes the body
// into its decoder's buffer, which doubles as it grows and is kept for the
// rest of the stream, then copies it out twice (the element's text, then
// the string): a power of two at or above size plus two copies, alive
// together. A delivered message is then stored: SQLite's copies (the bound
// value, the record, its pages), about two and a half of the body, live
// outside the Go heap, next to the decoder's buffer and the body itself.
// Measured: 3.7× a 10 MB body dropped (the bound 4.6×), 5.2 to 5.7× a 6 MB
// one stored (the bound 6.4×). One copy of slack on top of what is
// explained (a new copy alive at the peak exceeds it), one more for the
// delivered case, whose peak varies with the collector's timing.
func stanzaBudget(size int, dropped bool) int64 {
	pow := int64(1)
	for pow < int64(size) {
		pow <<= 1
	}
	if dropped {
		return pow + 3*int64(size)
	}
	return pow + 5*int64(size)
}

func withoutGC(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "GOMEMLIMIT=") && !strings.HasPrefix(e, "GOGC=") {
			out = append(out, e)
		}
	}
	return out
}

// TestMaxStanzaConfig: max_stanza in the config lowers the bound; the
// warning names it.
func TestMaxStanzaConfig(t *testing.T) {
	testserver.Require(t, srv)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte("max_stanza = 100000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	line, _ := listenFor(t, alice, bob, strings.Repeat("z", 200000)+"-end-", "-end-", "--config", cfg)
	// The size counted is the body plus what the server added (ejabberd's
	// stanza-id attributes, for one), so only its order is checked.
	if !regexp.MustCompile(`ignored a stanza of 200\d\d\d bytes`).MatchString(line) || !strings.Contains(line, "than the 100000 bytes") ||
		!strings.Contains(line, "max_stanza") {
		t.Errorf("listen printed %q", line)
	}
}
