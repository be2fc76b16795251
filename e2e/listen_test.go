package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/markers"
	"github.com/xmppctl/xmppctl/pkg/outbox"
	"github.com/xmppctl/xmppctl/pkg/receipts"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// listenProc is a running "xmppctl listen --json -v".
type listenProc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	msgs  []store.Message
	other []string // lines of stdout that are no message (--exec output)
	// barriers are the bodies of the barrier messages printed.
	barriers []string
	stderr   bytes.Buffer
	more     chan struct{} // a token after each line read
	ready    chan struct{}
	exited   chan struct{}
}

// barrierPrefix starts the body of the messages barrier sends; they are
// kept out of msgs.
const barrierPrefix = "e2e-barrier-"

func startListen(t *testing.T, user, dataDir string, args ...string) *listenProc {
	t.Helper()
	testserver.Require(t, srv)
	return startListenWith(t, srv.Flags(), user, dataDir, args...)
}

// startListenWith is startListen with other server flags (a fault proxy).
func startListenWith(t *testing.T, flags []string, user, dataDir string, args ...string) *listenProc {
	t.Helper()
	all := append(append([]string(nil), flags...), "--data-dir", dataDir, "-v", "--json", "listen")
	cmd := exec.Command(testserver.Binary(t), append(all, args...)...)
	cmd.Env = append(os.Environ(), srv.AccountEnv(user)...)
	p := &listenProc{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{}), more: make(chan struct{}, 1)}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(errOut)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			p.signal()
			if strings.Contains(sc.Text(), "listening as") {
				once.Do(func() { close(p.ready) })
			}
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m store.Message
			p.mu.Lock()
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				p.other = append(p.other, sc.Text()) // --exec output shares stdout
			} else if strings.HasPrefix(m.Body, barrierPrefix) {
				p.barriers = append(p.barriers, m.Body)
			} else {
				p.msgs = append(p.msgs, m)
			}
			p.mu.Unlock()
			p.signal()
		}
	}()
	go func() { wg.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		_ = cmd.Wait()
	})
	select {
	case <-p.ready:
	case <-p.exited:
		t.Fatalf("listen exited: %s", p.errText())
	case <-time.After(20 * time.Second):
		t.Fatalf("listen not online: %s", p.errText())
	}
	// "listening as" comes once the server has processed the session's
	// presence and carbons: from now on what others send is seen.
	return p
}

func (p *listenProc) signal() {
	select {
	case p.more <- struct{}{}:
	default:
	}
}

// wait waits until ok holds (checked under p.mu after each line the
// process printed); the deadline only turns a hang into a failure.
func (p *listenProc) wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		p.mu.Lock()
		done := ok()
		p.mu.Unlock()
		if done {
			return
		}
		select {
		case <-p.more:
		case <-p.exited:
			p.mu.Lock()
			done := ok()
			p.mu.Unlock()
			if !done {
				t.Fatalf("listen exited before %s; stderr:\n%s", what, p.errText())
			}
			return
		case <-deadline:
			t.Fatalf("listen: no %s within 30s; stderr:\n%s", what, p.errText())
		}
	}
}

// waitLine waits until n lines of stdout that are not messages (--exec
// output) equal line.
func (p *listenProc) waitLine(t *testing.T, line string, n int) {
	t.Helper()
	p.wait(t, fmt.Sprintf("%d× %q on stdout", n, line), func() bool {
		c := 0
		for _, l := range p.other {
			if l == line {
				c++
			}
		}
		return c >= n
	})
}

// barrier sends a message from s to the listening account and waits until
// listen printed it: listen handles stanzas in order, so everything that
// reached it before from s, and whatever it did on its own before (a
// catch-up and its duplicates), has been printed by then. The barrier is
// not in msgs.
func (p *listenProc) barrier(t *testing.T, s conn.Session, to string) {
	t.Helper()
	body := barrierPrefix + conn.NewID()
	sendMsg(t, s, to, body)
	flush(t, s)
	p.wait(t, "barrier message", func() bool {
		return slices.Contains(p.barriers, body)
	})
}

func (p *listenProc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitFor waits until n messages were printed and returns them. To be
// sure that no extra one (a duplicate) follows, call barrier first.
func (p *listenProc) waitFor(t *testing.T, n int) []store.Message {
	t.Helper()
	p.wait(t, fmt.Sprintf("%d messages printed", n), func() bool { return len(p.msgs) >= n })
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]store.Message(nil), p.msgs...)
}

// interrupt sends SIGINT and expects exit status 130.
func (p *listenProc) interrupt(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("listen did not exit on SIGINT")
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("listen exit %v, want 130; stderr:\n%s", err, p.errText())
	}
}

func sendMsg(t *testing.T, s conn.Session, to, body string, payload ...any) string {
	t.Helper()
	id := conn.NewID()
	m := outbox.Build(id, to, outbox.Content{Type: stanza.ChatMessage, Body: body}, false)
	m.Payload = append(m.Payload, payload...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	return id
}

func flush(t *testing.T, s conn.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestListen: live messages, carbons of both directions from alice's
// other device, receipts and markers as the sender sees them, each
// message printed once, Ctrl-C exits 130.
func TestListen(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	a2 := srv.Dial(t, alice) // alice's phone
	p := startListen(t, alice, t.TempDir())

	var want []string
	ids := map[string]bool{}
	for i := range 20 {
		body := fmt.Sprintf("live-%d", i)
		ids[sendMsg(t, rb.s, srv.JID(alice), body, receipts.Request{}, markers.Markable{})] = true
		want = append(want, body)
	}
	for i := range 5 {
		body := fmt.Sprintf("phone-sent-%d", i)
		sendMsg(t, a2, srv.JID(bob), body)
		want = append(want, body)
	}
	for i := range 3 {
		body := fmt.Sprintf("phone-received-%d", i)
		sendMsg(t, rb.s, a2.JID(), body)
		want = append(want, body)
	}
	flush(t, rb.s)
	flush(t, a2)
	p.barrier(t, rb.s, srv.JID(alice))
	got := p.waitFor(t, len(want))
	exactlyOnce(t, got, want)
	for _, m := range got {
		switch {
		case strings.HasPrefix(m.Body, "live-"):
			if m.Direction != store.In || m.Source != "live" || m.StanzaID == "" {
				t.Errorf("live message %+v", m)
			}
		case strings.HasPrefix(m.Body, "phone-sent-"):
			if m.Direction != store.Out || m.Source != "carbon" || m.With != srv.JID(bob) {
				t.Errorf("sent carbon %+v", m)
			}
		case strings.HasPrefix(m.Body, "phone-received-"):
			if m.Direction != store.In || m.Source != "carbon" || m.With != srv.JID(bob) {
				t.Errorf("received carbon %+v", m)
			}
		}
	}
	// What bob saw: one receipt and one "received" marker per message,
	// from alice.
	gotReceipts, gotMarkers := map[string]bool{}, map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for len(gotReceipts) < len(ids) || len(gotMarkers) < len(ids) {
		st, err := rb.sub.Next(ctx)
		if err != nil {
			t.Fatalf("bob saw %d receipts and %d markers of %d: %v", len(gotReceipts), len(gotMarkers), len(ids), err)
		}
		m, ok := st.(*stanza.Message)
		if !ok || store.Bare(m.From) != srv.JID(alice) {
			continue
		}
		if id, ok := receipts.ReceivedID(m); ok && ids[id] {
			gotReceipts[id] = true
		}
		if kind, id, ok := markers.Find(m); ok && kind == markers.KindReceived && ids[id] {
			gotMarkers[id] = true
		}
	}
	p.interrupt(t)
}

// TestListenExecQuietPeriod: --exec runs per incoming message with the
// body on stdin, except in a chat where another of our devices was just
// active; that device's reply also marks the chat read.
func TestListenExecQuietPeriod(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob, carol := srv.NewUser(t, "alice"), srv.NewUser(t, "bob"), srv.NewUser(t, "carol")
	bs, cs := srv.Dial(t, bob), srv.Dial(t, carol)
	a2 := srv.Dial(t, alice)
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "exec.log")
	p := startListen(t, alice, dir, "--quiet-period", "10m",
		"--exec", `printf '%s|%s|%s\n' "$XMPP_WITH" "$XMPP_DIRECTION" "$(cat)" >> `+log+` && echo exec-done`)

	sendMsg(t, a2, srv.JID(bob), "on it (from the phone)")
	flush(t, a2)
	p.waitFor(t, 1)
	sendMsg(t, bs, srv.JID(alice), "bob while alice is on her phone")
	flush(t, bs)
	p.waitFor(t, 2)
	sendMsg(t, cs, srv.JID(alice), "carol\nwith two lines")
	flush(t, cs)
	p.waitFor(t, 3)

	want := srv.JID(carol) + "|in|carol\nwith two lines\n"
	// The commands run in order: when one is done, so are those before.
	p.waitLine(t, "exec-done", 1)
	got, _ := os.ReadFile(log)
	if string(got) != want {
		t.Errorf("exec log %q, want only carol's message %q", got, want)
	}
	p.interrupt(t)
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ts, _, err := st.ReadState(context.Background(), srv.JID(alice), srv.JID(bob)); err != nil || ts.IsZero() {
		t.Errorf("chat with bob not marked read by the phone's reply: %v %v", ts, err)
	}
}

// TestListenReconnect: the server drops the session; listen reconnects,
// catches up through the archive, and prints everything exactly once.
func TestListenReconnect(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	p := startListen(t, alice, t.TempDir())
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("before-%d", i))
		sendMsg(t, bs, srv.JID(alice), want[len(want)-1])
	}
	flush(t, bs)
	p.waitFor(t, 5)

	if n, err := srv.CloseSessions(alice); err != nil || n != 1 {
		t.Fatalf("close alice's session: %d closed, %v", n, err)
	}
	for i := range 10 {
		want = append(want, fmt.Sprintf("while-away-%d", i))
		sendMsg(t, bs, srv.JID(alice), want[len(want)-1])
	}
	flush(t, bs)
	// Once it is back (a second "listening as"), more live traffic.
	p.wait(t, "reconnect", func() bool { return strings.Count(p.stderr.String(), "listening as") >= 2 })
	for i := range 5 {
		want = append(want, fmt.Sprintf("after-%d", i))
		sendMsg(t, bs, srv.JID(alice), want[len(want)-1])
	}
	flush(t, bs)
	p.barrier(t, bs, srv.JID(alice))
	got := p.waitFor(t, len(want))
	exactlyOnce(t, got, want)
	sources := map[string]int{}
	for _, m := range got {
		if strings.HasPrefix(m.Body, "while-away") {
			sources[m.Source]++
		}
	}
	t.Logf("messages sent while away arrived via: %v", sources)
	if !strings.Contains(p.errText(), "connection lost") {
		t.Errorf("the drop was not reported: %s", p.errText())
	}
	p.interrupt(t)
}

// TestListenInactive: --inactive puts the session in the background state
// on the server (XEP-0352), as the server itself reports.
func TestListenInactive(t *testing.T) {
	testserver.Only(t, srv, testserver.Prosody, "the session's XEP-0352 state is read from Prosody's admin shell; "+
		"ejabberd's admin commands do not show it")
	alice := srv.NewUser(t, "alice")
	p := startListen(t, alice, t.TempDir(), "--inactive")
	out, err := exec.Command("prosodyctl", "--config", filepath.Join(srv.Dir, "prosody.cfg.lua"), "shell", "c2s:show()").CombinedOutput()
	if err != nil {
		t.Fatalf("c2s:show: %v %s", err, out)
	}
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, alice+"@") {
			found = true
			if !strings.Contains(line, "inactive") {
				t.Errorf("session not inactive: %s", line)
			}
		}
	}
	if !found {
		t.Fatalf("no session of %s in:\n%s", alice, out)
	}
	p.interrupt(t)
}
