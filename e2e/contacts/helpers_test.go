package contacts

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// wait bounds every wait on an event; the tests never sleep.
const wait = 30 * time.Second

// xmppctl runs the binary as user with the server flags prepended.
func xmppctl(t *testing.T, user string, args ...string) testserver.Result {
	t.Helper()
	testserver.Require(t, srv)
	return testserver.Run(t, "", srv.AccountEnv(user), append(srv.Flags(), args...)...)
}

// mustRun runs xmppctl and fails the test unless it exits 0.
func mustRun(t *testing.T, user string, args ...string) testserver.Result {
	t.Helper()
	r := xmppctl(t, user, args...)
	if r.Code != 0 {
		t.Fatalf("xmppctl %q: exit %d\nstdout: %s\nstderr: %s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// event is one JSON line of the slixmpp peer.
type event map[string]any

func (e event) s(k string) string { v, _ := e[k].(string); return v }

// peer is a running contact_peer.py.
type peer struct {
	t      *testing.T
	jid    string
	stdin  io.WriteCloser
	mu     sync.Mutex
	events []event
	wake   chan struct{}
	done   chan struct{}
	stderr strings.Builder
}

// startPeer logs user in with slixmpp and waits until it is online.
func startPeer(t *testing.T, user string) *peer {
	t.Helper()
	testserver.Require(t, srv)
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("needs Debian's /usr/bin/python3 with python3-slixmpp")
	}
	script := filepath.Join(testserver.Root(), "e2e", "peer", "contact_peer.py")
	cmd := exec.Command("/usr/bin/python3", script, srv.JID(user), srv.Users[user], srv.Addr(), srv.CAFile)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	p := &peer{t: t, jid: srv.JID(user), wake: make(chan struct{}, 1), done: make(chan struct{})}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			p.mu.Lock()
			p.events = append(p.events, e)
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
	})
	p.waitFor("ready", func(e event) bool { return e.s("event") == "ready" })
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// do sends a command.
func (p *peer) do(cmd map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("peer %s: %v", p.jid, err)
	}
}

// sync waits until the server processed everything the peer sent so far.
func (p *peer) sync() {
	p.t.Helper()
	n := p.count(func(e event) bool { return e.s("event") == "pong" })
	p.do(map[string]any{"cmd": "ping"})
	p.waitN("pong", n+1, func(e event) bool { return e.s("event") == "pong" })
}

func (p *peer) count(pred func(event) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if pred(e) {
			n++
		}
	}
	return n
}

// waitFor waits for the first event matching pred (seen earlier or later).
func (p *peer) waitFor(what string, pred func(event) bool) event {
	p.t.Helper()
	return p.waitN(what, 1, pred)
}

// waitN waits until n events match pred and returns the nth.
func (p *peer) waitN(what string, n int, pred func(event) bool) event {
	p.t.Helper()
	deadline := time.After(wait)
	for {
		p.mu.Lock()
		seen := 0
		for _, e := range p.events {
			if pred(e) {
				seen++
				if seen == n {
					p.mu.Unlock()
					return e
				}
			}
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-p.done:
			p.mu.Lock()
			defer p.mu.Unlock()
			p.t.Fatalf("peer %s exited waiting for %s; events %v; stderr %s", p.jid, what, p.events, p.stderr.String())
		case <-deadline:
			p.mu.Lock()
			defer p.mu.Unlock()
			p.t.Fatalf("peer %s: no %s within %s; events %v; stderr %s", p.jid, what, wait, p.events, p.stderr.String())
		}
	}
}

// presence matches a presence event of a type from a bare JID.
func presence(typ, from string) func(event) bool {
	return func(e event) bool { return e.s("event") == "presence" && e.s("type") == typ && e.s("from") == from }
}

// rosterOf returns the peer's roster as the server has it.
func (p *peer) rosterOf() []event {
	p.t.Helper()
	n := p.count(func(e event) bool { return e.s("event") == "roster" })
	p.do(map[string]any{"cmd": "roster"})
	e := p.waitN("roster", n+1, func(e event) bool { return e.s("event") == "roster" })
	var out []event
	items, _ := e["items"].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, event(m))
		}
	}
	return out
}

func findItem(items []event, jid string) (event, bool) {
	for _, it := range items {
		if it.s("jid") == jid {
			return it, true
		}
	}
	return nil, false
}

// rosterItem is the --json form of one "roster list" entry.
type rosterItem struct {
	JID          string   `json:"jid"`
	Name         string   `json:"name"`
	Groups       []string `json:"groups"`
	Subscription string   `json:"subscription"`
	Ask          string   `json:"ask"`
}

func rosterList(t *testing.T, user string) []rosterItem {
	t.Helper()
	r := mustRun(t, user, "--json", "roster", "list")
	var items []rosterItem
	if err := json.Unmarshal([]byte(r.Stdout), &items); err != nil {
		t.Fatalf("roster list --json: %v: %s", err, r.Stdout)
	}
	return items
}

type result struct {
	JID       string `json:"jid"`
	Outcome   string `json:"outcome"`
	Subscribe string `json:"subscribe"`
	Error     string `json:"error"`
}

func results(t *testing.T, r testserver.Result) []result {
	t.Helper()
	var out []result
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("--json output: %v: %q (stderr %s)", err, r.Stdout, r.Stderr)
	}
	return out
}

func testRequire(t *testing.T) {
	t.Helper()
	testserver.Require(t, srv)
}

// forgedPush is a roster push as another account would forge it.
type forgedPush struct {
	XMLName xml.Name     `xml:"jabber:iq:roster query"`
	Items   []forgedItem `xml:"item"`
}

type forgedItem struct {
	JID          string `xml:"jid,attr"`
	Subscription string `xml:"subscription,attr"`
}
