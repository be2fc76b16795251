package jingle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

type sentJSON struct {
	File      string `json:"file"`
	To        string `json:"to"`
	Size      int64  `json:"size"`
	Method    string `json:"method"`
	Transport string `json:"transport"`
	Hash      string `json:"hash"`
	Verified  bool   `json:"verified"`
}

type receivedJSON struct {
	Path      string `json:"path"`
	Name      string `json:"name"`
	From      string `json:"from"`
	Size      int64  `json:"size"`
	Method    string `json:"method"`
	Transport string `json:"transport"`
	Verified  bool   `json:"verified"`
}

const loop = "127.0.0.1"

// TestTransfers sends a file xmppctl → xmppctl over every transport and
// method and checks what the receiving process saved.
func TestTransfers(t *testing.T) {
	testserver.Require(t, srv)
	tests := []struct {
		name          string
		size          int64
		sendArgs      []string
		recvArgs      []string
		wantMethod    string
		wantTransport string
	}{
		{"jingle direct socks5", 5<<20 + 3, []string{"--candidate-addr", loop, "--proxy", "none"},
			[]string{"--candidate-addr", loop, "--proxy", "none"}, "jingle", "s5b-direct"},
		{"jingle proxy65 only", 8 << 20, []string{"--candidate-addr", "none"},
			[]string{"--candidate-addr", "none"}, "jingle", "s5b-proxy"},
		{"jingle ibb only", 300_000, []string{"--transport", "ibb"},
			[]string{"--candidate-addr", loop}, "jingle", "ibb"},
		{"jingle fallback to ibb", 100_000, []string{"--candidate-addr", "none", "--proxy", "none"},
			[]string{"--candidate-addr", "none", "--proxy", "none"}, "jingle", "ibb"},
		{"legacy si socks5", 2 << 20, []string{"--legacy", "--candidate-addr", loop, "--proxy", "none"},
			[]string{"--candidate-addr", loop}, "si", "s5b-direct"},
		{"legacy si proxy65", 1 << 20, []string{"--legacy", "--candidate-addr", "none"},
			[]string{"--candidate-addr", loop}, "si", "s5b-proxy"},
		{"legacy si ibb", 200_000, []string{"--legacy", "--transport", "ibb"},
			[]string{"--candidate-addr", loop}, "si", "ibb"},
		{"si chosen from the peer's features", 100_000, []string{"--candidate-addr", loop, "--proxy", "none"},
			[]string{"--legacy"}, "si", "s5b-direct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice, bob := srv.NewUser(t, "jsa"), srv.NewUser(t, "jsb")
			dir := t.TempDir()
			recv := start(t, bob, append([]string{"--json", "jingle-receive", "--dir", dir, "--from", srv.JID(alice),
				"--count", "1", "--auto-accept"}, tt.recvArgs...)...)
			bobJID := recv.ready(t)
			file, sum := randomFile(t, "data.bin", tt.size)
			send := run(t, alice, append(append([]string{"--json", "jingle-send"}, tt.sendArgs...), file, bobJID)...)
			if send.code != 0 {
				t.Fatalf("jingle-send exit %d; stderr:\n%s\nreceiver stderr:\n%s", send.code, send.stderr.String(), recv.stderr.String())
			}
			recv.wait(t, time.Minute)
			if recv.code != 0 {
				t.Fatalf("jingle-receive exit %d; stderr:\n%s", recv.code, recv.stderr.String())
			}
			var s sentJSON
			if err := json.Unmarshal(send.stdout.Bytes(), &s); err != nil {
				t.Fatalf("sender JSON %q: %v", send.stdout.String(), err)
			}
			var r receivedJSON
			if err := json.Unmarshal(recv.stdout.Bytes(), &r); err != nil {
				t.Fatalf("receiver JSON %q: %v", recv.stdout.String(), err)
			}
			if s.Method != tt.wantMethod || s.Transport != tt.wantTransport || r.Transport != tt.wantTransport {
				t.Errorf("method/transport: sender %s/%s, receiver %s, want %s/%s", s.Method, s.Transport, r.Transport, tt.wantMethod, tt.wantTransport)
			}
			if r.Path != filepath.Join(dir, "data.bin") || r.Size != tt.size || !r.Verified || !strings.HasPrefix(r.From, srv.JID(alice)+"/") {
				t.Errorf("receiver reported %+v", r)
			}
			if got := fileSum(t, r.Path); got != sum {
				t.Errorf("saved file differs from the sent one")
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("directory holds %v, want only data.bin", names)
			}
		})
	}
}

// TestDeclined: a sender that is neither given with --from nor a roster
// contact is declined, and jingle-send exits 5.
func TestDeclined(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob, carol := srv.NewUser(t, "jda"), srv.NewUser(t, "jdb"), srv.NewUser(t, "jdc")
	dir := t.TempDir()
	recv := start(t, bob, "jingle-receive", "--dir", dir, "--from", srv.JID(carol), "--auto-accept", "--candidate-addr", loop)
	bobJID := recv.ready(t)
	file, _ := randomFile(t, "x.bin", 1000)
	send := run(t, alice, "jingle-send", "--candidate-addr", loop, file, bobJID)
	if send.code != 5 {
		t.Fatalf("jingle-send exit %d, want 5; stderr:\n%s", send.code, send.stderr.String())
	}
	if !strings.Contains(send.stderr.String(), "declined") {
		t.Errorf("stderr does not say declined:\n%s", send.stderr.String())
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory holds %v after a declined offer", names)
	}
}

// TestRosterAndBareJID: contacts are accepted by default, and a bare JID
// finds the receiving resource through presence, whose entity
// capabilities choose the method: verified by a query the first time,
// from the cache (no disco#info query at all) the next.
func TestRosterAndBareJID(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "jra"), srv.NewUser(t, "jrb")
	makeContacts(t, alice, bob)
	dir, data := t.TempDir(), t.TempDir()
	recv := start(t, bob, "jingle-receive", "--dir", dir, "--count", "2", "--auto-accept", "--candidate-addr", loop, "--proxy", "none")
	recv.ready(t)
	for i, want := range []string{"verified", "cached"} {
		file, sum := randomFile(t, fmt.Sprintf("report%d.pdf", i), 70_000)
		send := run(t, alice, "-v", "--debug-xml", "--data-dir", data, "jingle-send", "--candidate-addr", loop, "--proxy", "none", file, srv.JID(bob))
		if send.code != 0 {
			t.Fatalf("jingle-send exit %d; stderr:\n%s\nreceiver:\n%s", send.code, send.stderr.String(), recv.stderr.String())
		}
		stderr := send.stderr.String()
		if !strings.Contains(stderr, ": capabilities sha-") || !strings.Contains(stderr, "=: "+want) {
			t.Errorf("send %d: bob's capabilities not %s; stderr:\n%s", i+1, want, stderr)
		}
		queries := strings.Count(stderr, "<query xmlns=\"http://jabber.org/protocol/disco#info\"")
		if want == "cached" && queries != 0 {
			t.Errorf("send %d: %d disco#info queries despite cached capabilities", i+1, queries)
		}
		if fileSum(t, filepath.Join(dir, filepath.Base(file))) != sum {
			t.Errorf("send %d: saved file differs", i+1)
		}
	}
	recv.wait(t, time.Minute)
	if paths := strings.Fields(recv.stdout.String()); len(paths) != 2 || paths[0] != filepath.Join(dir, "report0.pdf") {
		t.Fatalf("receiver printed %q", recv.stdout.String())
	}
}

// TestNoOverwrite: a second file of the same name gets a suffix.
func TestNoOverwrite(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "joa"), srv.NewUser(t, "job")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "same.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	recv := start(t, bob, "jingle-receive", "--dir", dir, "--from", srv.JID(alice), "--count", "1", "--auto-accept", "--candidate-addr", loop)
	bobJID := recv.ready(t)
	file, sum := randomFile(t, "same.txt", 5000)
	if send := run(t, alice, "jingle-send", "--candidate-addr", loop, file, bobJID); send.code != 0 {
		t.Fatalf("jingle-send exit %d: %s", send.code, send.stderr.String())
	}
	recv.wait(t, time.Minute)
	if b, _ := os.ReadFile(filepath.Join(dir, "same.txt")); string(b) != "keep me" {
		t.Errorf("existing file was overwritten")
	}
	if got := strings.TrimSpace(recv.stdout.String()); got != filepath.Join(dir, "same (1).txt") || fileSum(t, got) != sum {
		t.Errorf("saved as %q", got)
	}
}

// TestTimeout: a peer that acknowledges the offer but never answers makes
// jingle-send exit 7 after --timeout.
func TestTimeout(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "jta"), srv.NewUser(t, "jtb")
	peer := silentPeer(t, bob)
	file, _ := randomFile(t, "x.bin", 1000)
	send := run(t, alice, "--timeout", "2s", "jingle-send", "--candidate-addr", loop, "--proxy", "none", file, peer)
	if send.code != 7 {
		t.Fatalf("jingle-send exit %d, want 7; stderr:\n%s", send.code, send.stderr.String())
	}
}

// TestSeveralFiles: files given together go one after the other over one
// login; the one the receiver declines (over its --max-size) makes the
// sender exit 3 while the others arrive and are reported (a declined offer
// does not count towards the receiver's --count).
func TestSeveralFiles(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "jma"), srv.NewUser(t, "jmb")
	dir := t.TempDir()
	recv := start(t, bob, "jingle-receive", "--dir", dir, "--from", srv.JID(alice), "--count", "2",
		"--auto-accept", "--max-size", "100000", "--candidate-addr", loop, "--proxy", "none")
	bobJID := recv.ready(t)
	one, sum1 := randomFile(t, "one.bin", 50_000)
	big, _ := randomFile(t, "big.bin", 200_000)
	two, sum2 := randomFile(t, "two.bin", 60_000)
	send := run(t, alice, "--json", "jingle-send", "--candidate-addr", loop, "--proxy", "none", one, big, two, bobJID)
	if send.code != 3 {
		t.Fatalf("jingle-send exit %d, want 3 (one of three declined); stderr:\n%s", send.code, send.stderr.String())
	}
	if !strings.Contains(send.stderr.String(), "big.bin") || !strings.Contains(send.stderr.String(), "declined") {
		t.Errorf("stderr does not name the declined file:\n%s", send.stderr.String())
	}
	// One JSON line per file, in order; the declined one says why.
	var sent []string
	for _, line := range strings.Split(strings.TrimSpace(send.stdout.String()), "\n") {
		var s struct {
			sentJSON
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("sender JSON line %q: %v", line, err)
		}
		rec := filepath.Base(s.File)
		if s.Error != "" {
			rec += " (" + s.Error + ")"
		}
		sent = append(sent, rec)
	}
	if len(sent) != 3 || sent[0] != "one.bin" || !strings.HasPrefix(sent[1], "big.bin (") || !strings.Contains(sent[1], "declined") || sent[2] != "two.bin" {
		t.Errorf("sender reported %q, want one.bin, big.bin with its refusal, two.bin", sent)
	}
	recv.wait(t, time.Minute)
	if got := fileSum(t, filepath.Join(dir, "one.bin")); got != sum1 {
		t.Error("one.bin differs")
	}
	if got := fileSum(t, filepath.Join(dir, "two.bin")); got != sum2 {
		t.Error("two.bin differs")
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Errorf("directory holds %v, want one.bin and two.bin", names)
	}
}
