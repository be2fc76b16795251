package omemo

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// listenProc is a running "xmppctl listen --json".
type listenProc struct {
	msgs   chan store.Message
	stderr strings.Builder
	mu     sync.Mutex
}

func (b *bot) listen(t *testing.T) *listenProc {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), append(srv.Flags(), "-v", "--json", "listen")...)
	cmd.Env = append(os.Environ(), b.env...)
	p := &listenProc{msgs: make(chan store.Message, 100)}
	ready, once := make(chan struct{}), sync.Once{}
	out, _ := cmd.StdoutPipe()
	errOut, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(errOut)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), "xmppctl: listening as ") {
				once.Do(func() { close(ready) }) // again after each reconnect
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m store.Message
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.msgs <- m
			}
		}
		close(p.msgs)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("listen stderr:\n%s", p.stderr.String())
			p.mu.Unlock()
		}
	})
	// A message sent before listen's session is available lands in offline
	// storage and comes back as history: wait until listen says it is
	// listening (on ejabberd a fast peer otherwise won the race).
	select {
	case <-ready:
	case <-time.After(wait):
		t.Fatalf("listen did not start in %s", wait)
	}
	return p
}

func (p *listenProc) next(t *testing.T) store.Message {
	t.Helper()
	select {
	case m, ok := <-p.msgs:
		if !ok {
			t.Fatal("listen ended")
		}
		return m
	case <-time.After(wait):
		t.Fatalf("listen printed nothing in %s", wait)
	}
	return store.Message{}
}

// TestListenOMEMO: python-omemo's messages are decrypted by listen (the
// prekey message, then ratchet ones), stored once with the sender's
// fingerprint and trust; the empty key transport messages are never shown;
// a tampered message and one not encrypted for this device are shown with
// the reason, and the session survives them; archive list shows the same.
func TestListenOMEMO(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	// Publish the bot's device first, so the peer finds it.
	if r := alice.run(t, "", "omemo", "devices"); r.Code != 0 {
		t.Fatalf("omemo devices: exit %d", r.Code)
	}
	fp := strings.TrimSpace(alice.run(t, "", "--json", "omemo", "fingerprint").Stdout)
	var own struct {
		Device uint32 `json:"device_id"`
	}
	if err := json.Unmarshal([]byte(fp), &own); err != nil || own.Device == 0 {
		t.Fatalf("fingerprint --json = %q", fp)
	}
	l := alice.listen(t)
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	to := srv.JID(alice.user)
	check := func(body, wantErr string) {
		t.Helper()
		m := l.next(t)
		if m.Encrypted != omemo.NS || m.SenderFP != fpGroups(p.FP) || m.Trust != "blind" {
			t.Fatalf("got %+v, want encrypted from %s, blind", m, fpGroups(p.FP))
		}
		if m.Body != body || !strings.Contains(m.DecryptError, wantErr) || (wantErr == "") != (m.DecryptError == "") {
			t.Fatalf("got body %q error %q, want %q / %q", m.Body, m.DecryptError, body, wantErr)
		}
	}
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "first (prekey)"})
	check("first (prekey)", "")
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "second"})
	check("second", "")
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "tampered", "tamper": true})
	m := l.next(t)
	if m.Body != "" || !strings.Contains(m.DecryptError, "authentication") {
		t.Fatalf("tampered: %+v", m)
	}
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "not for you", "drop_rid": own.Device})
	m = l.next(t)
	if m.Body != "" || !strings.Contains(m.DecryptError, "not encrypted for this device") {
		t.Fatalf("not for us: %+v", m)
	}
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "still working"})
	check("still working", "")

	r := alice.run(t, "", "--json", "archive", "list", "--with", srv.JID(bob))
	var bodies, errs []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var m store.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("archive list line %q: %v", line, err)
		}
		bodies = append(bodies, m.Body)
		if m.DecryptError != "" {
			errs = append(errs, m.DecryptError)
		}
	}
	if strings.Join(bodies, "|") != "first (prekey)|second|||still working" || len(errs) != 2 {
		t.Fatalf("archive list: bodies %q errors %q", bodies, errs)
	}
}

// TestArchiveSyncOMEMO: messages that arrived while nothing ran are
// decrypted from the archive (MAM) by archive sync and stored once.
func TestArchiveSyncOMEMO(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	if r := alice.run(t, "", "omemo", "devices"); r.Code != 0 {
		t.Fatalf("omemo devices: exit %d", r.Code)
	}
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	for _, b := range []string{"offline one", "offline two"} {
		p.cmd(map[string]any{"cmd": "send", "to": srv.JID(alice.user), "body": b})
		p.expect("sent", wait)
	}
	if r := alice.run(t, "", "archive", "sync"); r.Code != 0 {
		t.Fatalf("archive sync: exit %d", r.Code)
	}
	r := alice.run(t, "", "--json", "archive", "list", "--with", srv.JID(bob))
	var bodies []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var m store.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("archive list line %q: %v", line, err)
		}
		if m.Encrypted != omemo.NS || m.SenderFP != fpGroups(p.FP) {
			t.Fatalf("record %+v", m)
		}
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, "|") != "offline one|offline two" {
		t.Fatalf("archive: %q", bodies)
	}
}
