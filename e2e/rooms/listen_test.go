package rooms

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// roomLine is one --json line of listen.
type roomLine struct {
	Body       string `json:"body"`
	From       string `json:"from"`
	Direction  string `json:"direction"`
	Room       string `json:"room"`
	Nick       string `json:"nick"`
	OccupantID string `json:"occupant_id"`
	RealJID    string `json:"real_jid"`
	Mention    bool   `json:"mention"`
}

// listenProc is a running "xmppctl -v --json listen ...".
type listenProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan roomLine
	errs   chan string
	exited chan struct{}
	code   int
}

func startListen(t *testing.T, user, dataDir string, args ...string) *listenProc {
	t.Helper()
	testserver.Require(t, srv)
	all := append(srv.Flags(), "--data-dir", dataDir, "-v", "--json", "listen")
	cmd := exec.Command(testserver.Binary(t), append(all, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, srv.AccountEnv(user)...)
	p := &listenProc{t: t, cmd: cmd, lines: make(chan roomLine, 1000), errs: make(chan string, 1000), exited: make(chan struct{})}
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
	go func() {
		sc := bufio.NewScanner(errOut)
		for sc.Scan() {
			t.Logf("listen stderr: %s", sc.Text())
			p.errs <- sc.Text()
		}
	}()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l roomLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				p.lines <- l
			}
		}
		_ = cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	return p
}

// stop interrupts listen and waits for it to exit.
func (p *listenProc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// stderr waits for a stderr line containing all the parts.
func (p *listenProc) stderr(parts ...string) string {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l := <-p.errs:
			ok := true
			for _, s := range parts {
				ok = ok && strings.Contains(l, s)
			}
			if ok {
				return l
			}
		case <-p.exited:
			// Drain what it said before exiting.
			for {
				select {
				case l := <-p.errs:
					ok := true
					for _, s := range parts {
						ok = ok && strings.Contains(l, s)
					}
					if ok {
						return l
					}
				case <-time.After(2 * time.Second):
					p.t.Fatalf("listen exited (status %d) without saying %q", p.code, parts)
				}
			}
		case <-deadline:
			p.t.Fatalf("listen did not say %q", parts)
		}
	}
}

// joined waits until listen has joined every room (in any order).
func (p *listenProc) joined(rooms ...string) {
	p.t.Helper()
	left := map[string]bool{}
	for _, r := range rooms {
		left["joined "+r+" as "] = true
	}
	deadline := time.After(60 * time.Second)
	for len(left) > 0 {
		select {
		case l := <-p.errs:
			for k := range left {
				if strings.HasPrefix(l, k) {
					delete(left, k)
				}
			}
		case <-p.exited:
			p.t.Fatalf("listen exited (status %d) before joining %v", p.code, left)
		case <-deadline:
			p.t.Fatalf("listen did not join %v", left)
		}
	}
}

// next waits for the next printed message.
func (p *listenProc) next() roomLine {
	p.t.Helper()
	select {
	case l := <-p.lines:
		return l
	case <-p.exited:
		p.t.Fatalf("listen exited (status %d)", p.code)
	case <-time.After(60 * time.Second):
		p.t.Fatal("no message printed")
	}
	return roomLine{}
}

// until collects printed messages up to and including the one with body.
func (p *listenProc) until(body string) []roomLine {
	p.t.Helper()
	var got []roomLine
	for {
		l := p.next()
		got = append(got, l)
		if l.Body == body {
			return got
		}
	}
}

func bodies(ls []roomLine) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Room+":"+l.Body)
	}
	return out
}

// TestListenRoomsCatchUpAndMentions: a bot listens in two rooms while a
// slixmpp occupant writes; across a restart it catches up from the rooms'
// archives (nothing missed, nothing twice); --mentions passes on only what
// names it.
func TestListenRoomsCatchUpAndMentions(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	peer := newPeer(t, bob, "")
	r1, r2 := "one-"+bob+"@"+srv.MUCHost, "two-"+bob+"@"+srv.MUCHost
	// r1 shows real JIDs to everyone, r2 does not.
	peer.do("join", map[string]any{"room": r1, "nick": "bob", "config": map[string]any{
		"FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig", "muc#roomconfig_whois": "anyone"}})
	peer.do("join", map[string]any{"room": r2, "nick": "bob"})
	data := t.TempDir()

	l := startListen(t, alice, data, "--muc", r1, "--muc", r2, "--nick", "bot")
	l.joined(r1, r2)
	peer.do("say", map[string]any{"room": r1, "body": "hello one"})
	peer.do("say", map[string]any{"room": r2, "body": "hello two"})
	got := []roomLine{l.next(), l.next()}
	seen := map[string]roomLine{}
	for _, g := range got {
		seen[g.Room+":"+g.Body] = g
	}
	for _, want := range []string{r1 + ":hello one", r2 + ":hello two"} {
		g, ok := seen[want]
		if !ok {
			t.Fatalf("got %v, want %s", bodies(got), want)
		}
		if g.Nick != "bob" || g.Direction != "in" || !strings.HasSuffix(g.From, "/bob") {
			t.Errorf("%s: fields %+v", want, g)
		}
	}
	if g := seen[r1+":hello one"]; !strings.HasPrefix(g.RealJID, srv.JID(bob)+"/") {
		t.Errorf("non-anonymous room: real_jid %q, want %s/...", g.RealJID, srv.JID(bob))
	}
	if g := seen[r2+":hello two"]; g.RealJID != "" {
		t.Errorf("semi-anonymous room: real_jid %q shown", g.RealJID)
	}
	l.stop()

	// While the bot is away.
	peer.do("say", map[string]any{"room": r1, "body": "away one"})
	peer.do("say", map[string]any{"room": r2, "body": "away two"})

	l = startListen(t, alice, data, "--muc", r1, "--muc", r2, "--nick", "bot")
	l.joined(r1, r2)
	peer.do("say", map[string]any{"room": r1, "body": "live three"})
	got = l.until("live three")
	count := map[string]int{}
	for _, b := range bodies(got) {
		count[b]++
	}
	want := map[string]int{r1 + ":away one": 1, r2 + ":away two": 1, r1 + ":live three": 1}
	if len(count) != len(want) {
		t.Fatalf("after the restart: %v, want each of %v once", bodies(got), want)
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("after the restart %q printed %d times, want %d (all: %v)", k, count[k], n, bodies(got))
		}
	}
	l.stop()

	l = startListen(t, alice, data, "--muc", r1, "--nick", "bot", "--mentions")
	l.joined(r1)
	peer.do("say", map[string]any{"room": r1, "body": "nothing for robots"})
	peer.do("say", map[string]any{"room": r1, "body": "bot: deploy please"})
	if g := l.next(); g.Body != "bot: deploy please" || !g.Mention {
		t.Errorf("--mentions passed on %+v first", g)
	}
}

// TestListenKickEndsRoom: a kick, a ban and a destroyed room are each
// reported and end that room while the others stay; when the last room is
// gone, listen exits with status 5.
func TestListenKickEndsRoom(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	peer := newPeer(t, bob, "")
	r1, r2, r3 := "kick1-"+bob+"@"+srv.MUCHost, "kick2-"+bob+"@"+srv.MUCHost, "kick3-"+bob+"@"+srv.MUCHost
	for _, r := range []string{r1, r2, r3} {
		peer.do("join", map[string]any{"room": r, "nick": "bob"})
	}
	// --exec prints a JSON line of its own, which the test reads like the
	// messages.
	exec := `printf '{"body":"exec %s %s %s"}\n' "$XMPP_ROOM" "$XMPP_NICK" "$(cat)"`
	l := startListen(t, alice, t.TempDir(), "--muc", r1, "--muc", r2, "--muc", r3, "--nick", "bot", "--exec", exec)
	l.joined(r1, r2, r3)
	peer.do("kick", map[string]any{"room": r1, "nick": "bot", "reason": "test"})
	l.stderr(r1, "kicked", "no longer listening")
	peer.do("say", map[string]any{"room": r2, "body": "still here"})
	if g := l.next(); g.Body != "still here" || g.Room != r2 {
		t.Errorf("after the kick from %s: %+v", r1, g)
	}
	if g := l.next(); g.Body != "exec "+r2+" bob still here" {
		t.Errorf("--exec saw %q", g.Body)
	}
	peer.do("affiliation", map[string]any{"room": r2, "jid": srv.JID(alice), "affiliation": "outcast"})
	l.stderr(r2, "banned", "no longer listening")
	select {
	case <-l.exited:
		t.Fatalf("listen exited (%d) with a room left", l.code)
	default:
	}
	peer.do("destroy", map[string]any{"room": r3, "reason": "moving"})
	l.stderr(r3, "room destroyed", "no longer listening")
	<-l.exited
	if l.code != 5 {
		t.Errorf("listen exited %d when no room was left, want 5", l.code)
	}
}
