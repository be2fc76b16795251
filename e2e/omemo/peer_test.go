package omemo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// python is Debian's interpreter: the one with python3-omemo.
const python = "/usr/bin/python3"

// peer is one python-omemo device (peer.py) logged in as an account.
type peer struct {
	t      *testing.T
	user   string
	in     io.WriteCloser
	events chan map[string]any
	Device float64
	FP     string
	mu     sync.Mutex
	log    []string
}

// requirePython fails (as root, where CI installs the packages) or skips
// loudly when python-omemo is missing.
func requirePython(t *testing.T) {
	t.Helper()
	err := exec.Command(python, "-c", "import omemo, oldmemo.etree, slixmpp, xeddsa").Run()
	if err == nil {
		return
	}
	msg := "python3-omemo, python3-oldmemo, python3-slixmpp and python3-xmlschema are needed (apt-get install them): " + err.Error()
	if os.Geteuid() == 0 {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED, NOT TESTED: " + msg)
}

func startPeer(t *testing.T, user string) *peer {
	t.Helper()
	return startPeerV(t, user, "0.3")
}

// startPeerV starts a peer speaking versions: "0.3", "2" or "both".
func startPeerV(t *testing.T, user, versions string) *peer {
	t.Helper()
	requirePython(t)
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "peer.py")
	cmd := exec.Command(python, script, "--jid", srv.JID(user)+"/peer"+fmt.Sprint(time.Now().UnixNano()%100000),
		"--port", srv.C2SPort, "--host", srv.Host, "--ca", srv.CAFile, "--versions", versions)
	cmd.Env = append(os.Environ(), "PEER_PASSWORD="+srv.Users[user])
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, user: user, in: in, events: make(chan map[string]any, 100)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.mu.Lock()
				p.log = append(p.log, sc.Text())
				p.mu.Unlock()
				p.events <- ev
			}
		}
		close(p.events)
	}()
	t.Cleanup(func() {
		_, _ = io.WriteString(in, `{"cmd":"quit"}`+"\n")
		in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("peer %s events:\n%s\nstderr:\n%s", user, strings.Join(p.log, "\n"), tail(stderr.String(), 3000))
			p.mu.Unlock()
		}
	})
	ev := p.expect("ready", wait)
	p.Device, p.FP = ev["device"].(float64), ev["fingerprint"].(string)
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *peer) cmd(v map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(v)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("peer %s: %v", p.user, err)
	}
}

// expect waits for the next event of the given kind (others are
// skipped); the timeout only bounds a broken run.
func (p *peer) expect(kind string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				p.t.Fatalf("peer %s ended while waiting for %q", p.user, kind)
			}
			if ev["event"] == kind {
				return ev
			}
			if ev["event"] == "fatal" || ev["event"] == "command-error" {
				p.t.Fatalf("peer %s: %v", p.user, ev)
			}
			p.t.Logf("peer %s: %v", p.user, ev)
		case <-deadline:
			p.t.Fatalf("peer %s: no %q event in %s", p.user, kind, timeout)
		}
	}
}

// message waits for the next decrypted message with a body, or a decrypt
// error (returned in the map too), skipping empty key transport messages.
func (p *peer) message(timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				p.t.Fatalf("peer %s ended while waiting for a message", p.user)
			}
			switch ev["event"] {
			case "message":
				if ev["body"] != nil {
					return ev
				}
			case "decrypt-error":
				return ev
			}
		case <-deadline:
			p.t.Fatalf("peer %s: no message in %s", p.user, timeout)
		}
	}
}
