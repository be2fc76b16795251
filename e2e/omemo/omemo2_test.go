package omemo

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// sendJSON runs send --omemo --json and returns what it reports as the
// encryption used.
func (b *bot) sendJSON(t *testing.T, text, to string) string {
	t.Helper()
	r := b.run(t, "", "send", "--omemo", "--json", "-m", text, to)
	var res map[string]any
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &res) != nil || res["status"] != "sent" {
		t.Fatalf("send: exit %d, %q", r.Code, r.Stdout)
	}
	enc, _ := res["encrypted"].(string)
	return enc
}

// publishBot makes the bot's device (both versions) visible before a peer
// looks for it, and returns its device id.
func publishBot(t *testing.T, b *bot) uint32 {
	t.Helper()
	if r := b.run(t, "", "omemo", "devices"); r.Code != 0 {
		t.Fatalf("omemo devices: exit %d", r.Code)
	}
	var own struct {
		Device uint32 `json:"device_id"`
	}
	r := b.run(t, "", "--json", "omemo", "fingerprint")
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &own); err != nil || own.Device == 0 {
		t.Fatalf("fingerprint --json = %q", r.Stdout)
	}
	return own.Device
}

// TestOMEMO2OnlyPeer: with python-omemo speaking only OMEMO 2 (twomemo),
// send --omemo uses OMEMO 2 (first message with the key exchange, then on
// the ratchet, separate runs), the envelope names the bot and the peer;
// listen decrypts the peer's messages (key exchange, then ratchet), answers
// the key exchange with an empty message that is never shown, and keeps
// a tampered message and one whose envelope names another recipient with
// the reason, never as a message; omemo devices shows version 2 and the
// fingerprint the peer publishes.
func TestOMEMO2OnlyPeer(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeerV(t, bob, "2")
	// Until the bot receives something on the session, its messages keep
	// the key exchange (the peer sends nothing back here): the second run
	// repeats it, which the peer must accept as the same session.
	for _, text := range []string{"first in OMEMO 2", "second in OMEMO 2"} {
		if enc := alice.sendJSON(t, text, srv.JID(bob)); enc != omemo.NS2 {
			t.Fatalf("--json encrypted = %q, want %s", enc, omemo.NS2)
		}
		ev := p.message(wait)
		if ev["event"] != "message" || ev["body"] != text || ev["version"] != "2" || ev["kex"] != true {
			t.Fatalf("peer got %v, want %q in OMEMO 2 with the key exchange", ev, text)
		}
		if ev["env_to"] != srv.JID(bob) || ev["env_from"] != srv.JID(alice.user) || ev["eme"] != true {
			t.Fatalf("envelope/hints: %v", ev)
		}
	}
	r := alice.run(t, "", "--json", "omemo", "devices", srv.JID(bob))
	var dev struct {
		Version     string `json:"version"`
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &dev); err != nil ||
		dev.Version != omemo.NS2 || dev.Fingerprint != fpGroups(p.FP) {
		t.Fatalf("omemo devices = %q, want one OMEMO 2 device with %s", r.Stdout, fpGroups(p.FP))
	}
	if r := alice.run(t, "", "omemo", "devices", srv.JID(bob)); !strings.Contains(r.Stdout, "OMEMO") ||
		!strings.Contains(r.Stdout, " 2 ") {
		t.Fatalf("omemo devices text lacks the version column: %q", r.Stdout)
	}

	// The other direction, on a fresh bot so the peer starts the session.
	carol := newBot(t, "carol")
	own := publishBot(t, carol)
	l := carol.listen(t)
	to := srv.JID(carol.user)
	check := func(body string) {
		t.Helper()
		m := l.next(t)
		if m.Encrypted != omemo.NS2 || m.Body != body || m.DecryptError != "" || m.SenderFP != fpGroups(p.FP) {
			t.Fatalf("listen got %+v, want %q in OMEMO 2 from %s", m, body, fpGroups(p.FP))
		}
	}
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "hello carol (key exchange)"})
	check("hello carol (key exchange)")
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "on the ratchet"})
	check("on the ratchet") // the empty message bob got in between is nothing to show
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "tampered", "tamper": true})
	if m := l.next(t); m.Body != "" || !strings.Contains(m.DecryptError, "authentication") {
		t.Fatalf("tampered: %+v", m)
	}
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "meant for someone else", "env_to": srv.JID(bob)})
	if m := l.next(t); m.Body != "" || !strings.Contains(m.DecryptError, "envelope does not match") {
		t.Fatalf("redirected: %+v", m)
	}
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "not for you", "drop_rid": own})
	if m := l.next(t); m.Body != "" || !strings.Contains(m.DecryptError, "not encrypted for this device") {
		t.Fatalf("not for us: %+v", m)
	}
	p.cmd(map[string]any{"cmd": "send", "to": to, "body": "still working"})
	check("still working")

	r = carol.run(t, "", "--json", "archive", "list", "--with", srv.JID(bob))
	var bodies []string
	errs := 0
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var m store.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("archive list line %q: %v", line, err)
		}
		if m.Encrypted != omemo.NS2 {
			t.Fatalf("record %+v", m)
		}
		bodies = append(bodies, m.Body)
		if m.DecryptError != "" {
			errs++
		}
	}
	if strings.Join(bodies, "|") != "hello carol (key exchange)|on the ratchet||||still working" || errs != 3 {
		t.Fatalf("archive list: bodies %q, %d errors", bodies, errs)
	}
}

// TestOMEMO2BothPeer: a peer publishing both versions gets OMEMO 2 (its
// device is in both lists), and its OMEMO 2 messages are read.
func TestOMEMO2BothPeer(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeerV(t, bob, "both")
	if enc := alice.sendJSON(t, "to a peer with both", srv.JID(bob)); enc != omemo.NS2 {
		t.Fatalf("--json encrypted = %q, want only %s", enc, omemo.NS2)
	}
	if ev := p.message(wait); ev["body"] != "to a peer with both" || ev["version"] != "2" {
		t.Fatalf("peer got %v, want OMEMO 2", ev)
	}
	publishBot(t, alice)
	l := alice.listen(t)
	p.cmd(map[string]any{"cmd": "send", "to": srv.JID(alice.user), "body": "back in OMEMO 2"})
	if m := l.next(t); m.Encrypted != omemo.NS2 || m.Body != "back in OMEMO 2" || m.SenderFP != fpGroups(p.FP) {
		t.Fatalf("listen got %+v", m)
	}
}

// TestOMEMO2OwnDevice: the account's other device speaks only OMEMO 2
// while the recipient speaks only 0.3: one message carries both elements;
// the recipient reads its 0.3 copy, and the user's device reads what the
// bot sent (here sent to the account itself, which that device receives).
func TestOMEMO2OwnDevice(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	phone := startPeerV(t, alice.user, "2")
	if enc := alice.sendJSON(t, "to bob, copy for my phone", srv.JID(bob)); enc != omemo.NS2+" "+omemo.NS {
		t.Fatalf("--json encrypted = %q, want both versions", enc)
	}
	if ev := p.message(wait); ev["body"] != "to bob, copy for my phone" || ev["version"] != "0.3" {
		t.Fatalf("bob got %v, want 0.3", ev)
	}
	if enc := alice.sendJSON(t, "note to self", srv.JID(alice.user)); enc != omemo.NS2 {
		t.Fatalf("--json encrypted = %q", enc)
	}
	if ev := phone.message(wait); ev["body"] != "note to self" || ev["version"] != "2" {
		t.Fatalf("phone got %v", ev)
	}
}

// TestOMEMO2ArchiveSync: OMEMO 2 messages that arrived while nothing ran
// (the first with the key exchange) are decrypted from the archive (MAM)
// by archive sync.
func TestOMEMO2ArchiveSync(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	publishBot(t, alice)
	bob := srv.NewUser(t, "bob")
	p := startPeerV(t, bob, "2")
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
		if m.Encrypted != omemo.NS2 || m.SenderFP != fpGroups(p.FP) {
			t.Fatalf("record %+v", m)
		}
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, "|") != "offline one|offline two" {
		t.Fatalf("archive: %q", bodies)
	}
}

// TestOMEMO2Carbon: what the user's OMEMO 2 phone sends to someone reaches
// the listening bot as a carbon, decrypted (the envelope's from is the
// account, its to the recipient: the check accepts it).
func TestOMEMO2Carbon(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	publishBot(t, alice)
	l := alice.listen(t)
	bob := srv.NewUser(t, "bob")
	pb := startPeerV(t, bob, "2")
	phone := startPeerV(t, alice.user, "2")
	phone.cmd(map[string]any{"cmd": "send", "to": srv.JID(bob), "body": "from my phone"})
	if ev := pb.message(wait); ev["body"] != "from my phone" {
		t.Fatalf("bob got %v", ev)
	}
	m := l.next(t)
	if m.Encrypted != omemo.NS2 || m.Body != "from my phone" || m.DecryptError != "" || m.SenderFP != fpGroups(phone.FP) {
		t.Fatalf("listen got %+v", m)
	}
}

// TestOMEMO2FollowUp: once the peer has answered on the session (here
// with a message the bot reads in listen), the bot's next messages carry
// no key exchange, and the peer reads them.
func TestOMEMO2FollowUp(t *testing.T) {
	testserver.Require(t, srv)
	// A send from the data dir the running listen uses: each binds its
	// own resource (pkg/conn's resource slots), so neither replaces the
	// other on a server without SASL2 either (issue 14).
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeerV(t, bob, "2")
	alice.sendJSON(t, "first", srv.JID(bob))
	if ev := p.message(wait); ev["body"] != "first" || ev["kex"] != true {
		t.Fatalf("peer got %v", ev)
	}
	l := alice.listen(t)
	p.cmd(map[string]any{"cmd": "send", "to": srv.JID(alice.user), "body": "answer"})
	if m := l.next(t); m.Body != "answer" || m.Encrypted != omemo.NS2 {
		t.Fatalf("listen got %+v", m)
	}
	for _, text := range []string{"second", "third"} {
		alice.sendJSON(t, text, srv.JID(bob))
		if ev := p.message(wait); ev["body"] != text || ev["kex"] != false || ev["version"] != "2" {
			t.Fatalf("peer got %v, want %q without key exchange", ev, text)
		}
	}
}
