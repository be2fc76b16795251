package cmd

import "testing"

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
		{[]string{"roster", "list", "extra"}, "unknown command"},
		{[]string{"listen", "--approve-from", "not a jid@"}, "invalid JID"},
		{[]string{"archive", "read"}, "exactly one JID"},
		{[]string{"archive", "read", "bob@example.org/x"}, "without a /resource"},
	} {
		t.Run(tt.args[len(tt.args)-1], func(t *testing.T) { wantUsageError(t, tt.args, tt.want) })
	}
}
