package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/blocking"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func shortCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sendFrom sends a chat message from an open session and waits until the
// server has processed it.
func sendAndFlush(t *testing.T, s conn.Session, to, body string) {
	t.Helper()
	ctx := shortCtx(t)
	if err := s.Send(ctx, stanza.Message{To: to, Type: stanza.ChatMessage, Body: body}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// xmppctlEnv runs the binary against the test server with env instead of
// a registered user's credentials.
func xmppctlEnv(t *testing.T, env []string, args ...string) testserver.Result {
	t.Helper()
	testserver.Require(t, srv)
	return testserver.Run(t, "", env, append(srv.Flags(), args...)...)
}

func mustXmppctl(t *testing.T, user string, args ...string) string {
	t.Helper()
	res := xmppctl(t, user, "", args...)
	if res.Code != 0 {
		t.Fatalf("xmppctl %s: exit %d: %s", strings.Join(args, " "), res.Code, res.Stderr)
	}
	return res.Stdout
}

func TestBlockListAddRemoveClear(t *testing.T) {
	alice, bob, carol := srv.NewUser(t, "blka"), srv.NewUser(t, "blkb"), srv.NewUser(t, "blkc")
	// alice's second device: what the server really holds.
	other := srv.Dial(t, alice)
	serverList := func() []string {
		l, err := blocking.List(shortCtx(t), other)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(l)
		return l
	}

	if out := mustXmppctl(t, alice, "block", "list"); out != "" {
		t.Fatalf("fresh account lists %q", out)
	}
	if out := mustXmppctl(t, alice, "--json", "block", "list"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("--json of an empty list: %q", out)
	}

	// Bare, domain-only and full JIDs are all block items; JIDs are
	// normalised (case) before they are sent.
	res := xmppctl(t, alice, "", "block", "add", strings.ToUpper(bob[:1])+bob[1:]+"@"+srv.Domain, "spam.example", "x@example.net/phone")
	if res.Code != 0 {
		t.Fatalf("block add: exit %d: %s", res.Code, res.Stderr)
	}
	want := []string{srv.JID(bob), "spam.example", "x@example.net/phone"}
	slices.Sort(want)
	if got := serverList(); !slices.Equal(got, want) {
		t.Fatalf("server blocklist %q, want %q", got, want)
	}
	if !strings.Contains(res.Stderr, "blocked "+srv.JID(bob)) {
		t.Errorf("block add did not confirm: %q", res.Stderr)
	}

	// Again: not an error, and said so.
	res = xmppctl(t, alice, "", "block", "add", srv.JID(bob))
	if res.Code != 0 || !strings.Contains(res.Stderr, "already blocked") {
		t.Fatalf("re-block: exit %d: %q", res.Code, res.Stderr)
	}

	// list reflects a change made by another device.
	if err := blocking.Block(shortCtx(t), other, "late@example.org"); err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := json.Unmarshal([]byte(mustXmppctl(t, alice, "--json", "block", "list")), &listed); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(listed, "late@example.org") || !slices.Contains(listed, srv.JID(bob)) {
		t.Fatalf("list --json %q misses the other device's block", listed)
	}
	lines := strings.Fields(mustXmppctl(t, alice, "block", "list"))
	if len(lines) != 4 {
		t.Fatalf("list printed %q, want 4 JIDs one per line", lines)
	}

	// bob's message is dropped while he is blocked: carol's control
	// message, sent after bob's was processed, arrives first.
	ra := online(t, alice)
	sb, sc := srv.Dial(t, bob), srv.Dial(t, carol)
	sendAndFlush(t, sb, srv.JID(alice), "while-blocked")
	sendAndFlush(t, sc, srv.JID(alice), "control-1")
	m := ra.message(t, 10*time.Second, func(m *stanza.Message) bool { return m.Body != "" })
	if m.Body != "control-1" {
		t.Fatalf("alice got %q from %s before the control message: the block did not drop it", m.Body, m.From)
	}

	// remove: bob gets through again.
	res = xmppctl(t, alice, "", "block", "remove", srv.JID(bob), "never@example.org")
	if res.Code != 0 || !strings.Contains(res.Stderr, "unblocked "+srv.JID(bob)) || !strings.Contains(res.Stderr, "was not blocked") {
		t.Fatalf("block remove: exit %d: %q", res.Code, res.Stderr)
	}
	if slices.Contains(serverList(), srv.JID(bob)) {
		t.Fatal("bob still on the server's blocklist")
	}
	sendAndFlush(t, sb, srv.JID(alice), "after-unblock")
	m = ra.message(t, 10*time.Second, func(m *stanza.Message) bool { return m.Body != "" })
	if m.Body != "after-unblock" {
		t.Fatalf("alice got %q, want bob's message after unblocking", m.Body)
	}

	// clear empties the list.
	res = xmppctl(t, alice, "", "--json", "block", "clear")
	if res.Code != 0 {
		t.Fatalf("block clear: exit %d: %s", res.Code, res.Stderr)
	}
	var cleared struct{ Unblocked []string }
	if err := json.Unmarshal([]byte(res.Stdout), &cleared); err != nil || len(cleared.Unblocked) != 3 {
		t.Fatalf("clear --json %q (%v), want 3 unblocked", res.Stdout, err)
	}
	if got := serverList(); len(got) != 0 {
		t.Fatalf("after clear the server still blocks %q", got)
	}
}

func TestBlockRejectsInvalidJIDBeforeConnecting(t *testing.T) {
	env := []string{"XMPPCTL_JID=nobody@" + srv.Domain, "XMPPCTL_PASSWORD=wrong"}
	for _, args := range [][]string{
		{"block", "add", "bad jid@example.org"},
		{"block", "remove", "a@"},
		{"block", "add"},
		{"block", "list", "extra"},
	} {
		res := xmppctlEnv(t, env, args...)
		if res.Code != 2 {
			t.Errorf("%q: exit %d, want 2 (before login, which would fail with 4): %s", args, res.Code, res.Stderr)
		}
	}
}

// TestSendToOfflineBlocker: what the blocked sender's xmppctl says when
// the blocking account is offline: both servers bounce the message with
// service-unavailable, and send fails (exit 5). (While the account is
// online both drop it silently, see above: then the server accepted it and
// that is all send can report.)
func TestSendToOfflineBlocker(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	mustXmppctl(t, alice, "block", "add", srv.JID(bob))
	wantExit(t, xmppctl(t, bob, "", "send", "-m", "to a blocker", srv.JID(alice)), 5, "service-unavailable")
}
