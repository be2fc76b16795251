package rooms

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// peer is a slixmpp client (peer/muc_peer.py) driven over its stdin and
// stdout.
type peer struct {
	t       *testing.T
	name    string
	stdin   io.WriteCloser
	mu      sync.Mutex
	seq     int
	events  chan map[string]any
	replies map[string]chan map[string]any
}

const python = "/usr/bin/python3"

// newPeer logs user in (with resource, when given) as a slixmpp client.
func newPeer(t *testing.T, user, resource string) *peer {
	t.Helper()
	testserver.Require(t, srv)
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("slixmpp peer needs Debian's %s with python3-slixmpp: %v", python, err)
	}
	cmd := exec.Command(python, filepath.Join("peer", "muc_peer.py"))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, name: user, stdin: in, events: make(chan map[string]any, 1024), replies: map[string]chan map[string]any{}}
	go p.read(out)
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	jid := srv.JID(user)
	if resource != "" {
		jid += "/" + resource
	}
	p.write(map[string]any{"cmd": "login", "jid": jid, "password": srv.Users[user], "host": srv.Host, "port": srv.C2SPort, "ca": srv.CAFile})
	ev := p.event(30*time.Second, func(e map[string]any) bool { return e["event"] == "ready" || e["event"] == "error" })
	if ev["event"] != "ready" {
		t.Fatalf("peer %s: %v", user, ev)
	}
	return p
}

func (p *peer) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if id, ok := m["reply"].(string); ok {
			p.mu.Lock()
			ch := p.replies[id]
			p.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		p.events <- m
	}
	close(p.events)
}

func (p *peer) write(m map[string]any) {
	b, _ := json.Marshal(m)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("peer %s: %v", p.name, err)
	}
}

// try runs a command and returns its reply (ok or not).
func (p *peer) try(cmd string, args map[string]any) map[string]any {
	p.t.Helper()
	p.mu.Lock()
	p.seq++
	id := fmt.Sprint(p.seq)
	ch := make(chan map[string]any, 1)
	p.replies[id] = ch
	p.mu.Unlock()
	m := map[string]any{"cmd": cmd, "id": id}
	for k, v := range args {
		m[k] = v
	}
	p.write(m)
	select {
	case r := <-ch:
		return r
	case <-time.After(60 * time.Second):
		p.t.Fatalf("peer %s: no reply to %s", p.name, cmd)
		return nil
	}
}

// do runs a command that must succeed.
func (p *peer) do(cmd string, args map[string]any) map[string]any {
	p.t.Helper()
	r := p.try(cmd, args)
	if r["ok"] != true {
		p.t.Fatalf("peer %s: %s %v: %v", p.name, cmd, args, r["error"])
	}
	return r
}

// event waits for the next event matching pred (others are dropped).
func (p *peer) event(timeout time.Duration, pred func(map[string]any) bool) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-p.events:
			if !ok {
				p.t.Fatalf("peer %s ended", p.name)
			}
			if pred(e) {
				return e
			}
		case <-deadline:
			p.t.Fatalf("peer %s: no matching event within %s", p.name, timeout)
			return nil
		}
	}
}
