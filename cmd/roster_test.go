package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/listen"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestRosterRejectsBadInputBeforeConnecting(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"roster"}, "subcommand"},
		{[]string{"roster", "approve"}, "at least one JID"},
		{[]string{"roster", "deny", "a@@b"}, "invalid JID"},
		{[]string{"roster", "add", "bob@example.org/phone"}, "bare JID"},
		{[]string{"roster", "add"}, "exactly one JID"},
		{[]string{"roster", "add", "bob@example.org", "--group", ""}, "--group"},
		{[]string{"roster", "list", "extra"}, "takes no arguments"},
		{[]string{"listen", "--approve-from", "not a jid@"}, "invalid JID"},
		{[]string{"archive", "read"}, "exactly one JID"},
		{[]string{"archive", "read", "bob@example.org/x"}, "without a /resource"},
	} {
		t.Run(tt.args[len(tt.args)-1], func(t *testing.T) { wantUsageError(t, tt.args, tt.want) })
	}
}

// TestRosterApproveWithoutRequestOrPreApproval: on a server without
// pre-approval, approving a JID that has not asked fails with exit 5 and
// a hint, sends nothing, and --json still gives that JID its outcome;
// with another JID that succeeds, the exit status is 3.
func TestRosterApproveWithoutRequestOrPreApproval(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	code := Run(context.Background(), f, []string{"--json", "roster", "approve", "stranger@example.org"})
	out := f.IO.Out.(*bytes.Buffer).String()
	errOut := f.IO.ErrOut.(*bytes.Buffer).String()
	if code != ExitRemote || !strings.Contains(out, `"outcome":"failed"`) || !strings.Contains(errOut, "hint:") {
		t.Errorf("exit %d, stdout %s, stderr %s", code, out, errOut)
	}
	for _, s := range sess.Sent() {
		if strings.Contains(s, "<presence") && !strings.Contains(s, `type="unavailable"`) {
			t.Errorf("sent %s", s)
		}
	}

	f, _, sess = testFactory(t, nil)
	sess.OnSend = func(v any) []stanza.Stanza {
		if iq, ok := v.(stanza.IQ); ok && iq.Type == "get" {
			// The server re-delivers pending requests before answering.
			return []stanza.Stanza{&stanza.Presence{Type: stanza.SubscribePresence, From: "asker@example.org"}}
		}
		return nil
	}
	code = Run(context.Background(), f, []string{"roster", "approve", "asker@example.org", "stranger@example.org"})
	errOut = f.IO.ErrOut.(*bytes.Buffer).String()
	if code != ExitPartial || !strings.Contains(errOut, "approved the subscription request of asker@example.org") ||
		!strings.Contains(errOut, "stranger@example.org") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestListenReportsSubscriptionRequests(t *testing.T) {
	f, _, _ := testFactory(t, nil)
	lp := &listenPrinter{p: newMessagePrinter(f)}
	lp.request(f, listen.SubscriptionEvent{From: "evil\x1b[2J@example.org"})
	lp.request(f, listen.SubscriptionEvent{From: "friend@example.org", Approved: true})
	errOut := f.IO.ErrOut.(*bytes.Buffer).String()
	if strings.Contains(errOut, "\x1b") || !strings.Contains(errOut, "pending: xmppctl roster approve") ||
		!strings.Contains(errOut, "approved the subscription request of friend@example.org") {
		t.Errorf("stderr %q", errOut)
	}
	f, _, _ = testFactory(t, nil)
	f.Global.JSON = true
	lp.request(f, listen.SubscriptionEvent{From: "a@example.org", Status: "hi", Approved: true})
	if got := f.IO.Out.(*bytes.Buffer).String(); got != `{"event":"subscription-request","from":"a@example.org","status":"hi","approved":true}`+"\n" {
		t.Errorf("json %q", got)
	}
}
