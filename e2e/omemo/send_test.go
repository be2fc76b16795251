package omemo

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// bot is an xmppctl account with a data dir kept across runs.
type bot struct {
	user string
	env  []string
}

func newBot(t *testing.T, prefix string) *bot {
	user := srv.NewUser(t, prefix)
	data := t.TempDir()
	return &bot{user: user, env: append(srv.AccountEnv(user), "XDG_DATA_HOME="+data)}
}

func (b *bot) run(t *testing.T, stdin string, args ...string) testserver.Result {
	t.Helper()
	r := testserver.Run(t, stdin, b.env, append(srv.Flags(), args...)...)
	t.Logf("xmppctl %s → %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	return r
}

// TestSendOMEMO: send --omemo reaches python-omemo, first as a prekey
// message then on the ratchet, from separate runs sharing the data dir;
// the message carries the fallback body, EME and store hints, never the
// plaintext; --json reports encrypted.
func TestSendOMEMO(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	for i, text := range []string{"first <secret> & more", "second secret"} {
		r := alice.run(t, "", "send", "--omemo", "--json", "-m", text, srv.JID(bob))
		if r.Code != 0 {
			t.Fatalf("send %d: exit %d", i, r.Code)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || res["status"] != "sent" || res["encrypted"] != omemo.NS {
			t.Fatalf("--json = %q", r.Stdout)
		}
		ev := p.message(wait)
		if ev["event"] != "message" || ev["body"] != text {
			t.Fatalf("peer got %v, want %q", ev, text)
		}
		fb, _ := ev["fallback"].(string)
		if strings.Contains(fb, "secret") || fb == "" || ev["eme"] != true || ev["store"] != true {
			t.Fatalf("fallback/hints wrong: %v", ev)
		}
	}
}

// TestSendOMEMOReceipt: --receipt works with --omemo (the request stays
// outside the encryption, as clients expect): exit 0 once delivered.
func TestSendOMEMOReceipt(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	r := alice.run(t, "", "send", "--omemo", "--receipt", "--json", "-m", "with receipt", srv.JID(bob))
	if r.Code != 0 || !strings.Contains(r.Stdout, `"status":"delivered"`) {
		t.Fatalf("exit %d, %q", r.Code, r.Stdout)
	}
	if ev := p.message(wait); ev["body"] != "with receipt" {
		t.Fatalf("peer got %v", ev)
	}
}

// TestSendOMEMOLines: several messages through --lines, and stdin.
func TestSendOMEMOLines(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	if r := alice.run(t, "one\ntwo\n\nthree\n", "send", "--omemo", "--lines", srv.JID(bob)); r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	for _, want := range []string{"one", "two", "three"} {
		if ev := p.message(wait); ev["body"] != want {
			t.Fatalf("got %v, want %q", ev, want)
		}
	}
	if r := alice.run(t, "from stdin\n", "send", "--omemo", srv.JID(bob)); r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	if ev := p.message(wait); ev["body"] != "from stdin" {
		t.Fatalf("got %v", ev)
	}
}

// TestSendOMEMOTwoDevices: the recipient's two devices both get the
// message, and so does the account's own other device (its key is in the
// header: the user's phone can read what the bot sent).
func TestSendOMEMOTwoDevices(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p1 := startPeer(t, bob)
	p2 := startPeer(t, bob)
	phone := startPeer(t, alice.user)
	if r := alice.run(t, "", "send", "--omemo", "-m", "to both", srv.JID(bob)); r.Code != 0 {
		t.Fatalf("exit %d", r.Code)
	}
	for _, p := range []*peer{p1, p2} {
		ev := p.message(wait)
		if ev["body"] != "to both" {
			t.Fatalf("device %v got %v", p.Device, ev)
		}
		var rids []int
		for _, r := range ev["rids"].([]any) {
			rids = append(rids, int(r.(float64)))
		}
		for _, want := range []*peer{p1, p2, phone} {
			if !slices.Contains(rids, int(want.Device)) {
				t.Fatalf("header keys %v lack device %v", rids, want.Device)
			}
		}
	}
}

// TestSendOMEMOPeerWithout: a recipient without OMEMO gets nothing (exit 5
// with the hint); with another recipient that has OMEMO, exit 3 and that
// one gets the message.
func TestSendOMEMOPeerWithout(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob, carol := srv.NewUser(t, "bob"), srv.NewUser(t, "carol")
	rcv := srv.Dial(t, carol)
	sub := rcv.Subscribe()
	defer sub.Close()
	r := alice.run(t, "", "send", "--omemo", "-m", "secret for carol", srv.JID(carol))
	if r.Code != 5 || !strings.Contains(r.Stderr, "hint: xmppctl omemo devices "+srv.JID(carol)) {
		t.Fatalf("exit %d, stderr %q; want 5 with the hint", r.Code, r.Stderr)
	}
	p := startPeer(t, bob)
	r = alice.run(t, "", "send", "--omemo", "-m", "secret for both", srv.JID(carol), srv.JID(bob))
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3", r.Code)
	}
	if ev := p.message(wait); ev["body"] != "secret for both" {
		t.Fatalf("bob got %v", ev)
	}
	// Carol got nothing: the first message she gets is a clear sentinel
	// sent afterwards.
	if r := alice.run(t, "", "send", "-m", "sentinel", srv.JID(carol)); r.Code != 0 {
		t.Fatal("sentinel not sent")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		st, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := st.(*stanza.Message); ok && m.Body != "" {
			if m.Body != "sentinel" {
				t.Fatalf("carol got %q before the sentinel", m.Body)
			}
			break
		}
	}
}

// TestSendOMEMOManualTrust: with --trust manual an unverified device is
// refused (exit 5, nothing sent); after omemo trust with the fingerprint
// the peer shows, the message goes out. omemo devices shows the device.
func TestSendOMEMOManualTrust(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	r := alice.run(t, "", "send", "--omemo", "--trust", "manual", "-m", "refused", srv.JID(bob))
	if r.Code != 5 || !strings.Contains(r.Stderr, "verified") {
		t.Fatalf("exit %d, want 5 about verification", r.Code)
	}
	r = alice.run(t, "", "omemo", "devices", "--json", srv.JID(bob))
	if r.Code != 0 || !strings.Contains(r.Stdout, fpGroups(p.FP)) {
		t.Fatalf("omemo devices: exit %d, %q lacks %s", r.Code, r.Stdout, fpGroups(p.FP))
	}
	if r = alice.run(t, "", "omemo", "trust", srv.JID(bob), fpGroups(p.FP)); r.Code != 0 {
		t.Fatalf("omemo trust: exit %d", r.Code)
	}
	if r = alice.run(t, "", "send", "--omemo", "--trust", "manual", "-m", "verified now", srv.JID(bob)); r.Code != 0 {
		t.Fatalf("exit %d after trust", r.Code)
	}
	if ev := p.message(wait); ev["body"] != "verified now" {
		t.Fatalf("peer got %v (the refused message must never arrive)", ev)
	}
	if r = alice.run(t, "", "omemo", "fingerprint"); r.Code != 0 || len(strings.TrimSpace(r.Stderr+r.Stdout)) < 71 {
		t.Fatalf("fingerprint: %d %q", r.Code, r.Stdout)
	}
	_ = filepath.Join
}
