package cmd

import (
	"context"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/iostreams"
	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// testFactory returns a factory whose Dial hands out fake sessions and
// counts how often it was called.
func testFactory(t *testing.T, env map[string]string) (*Factory, *int, *xmpptest.Session) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["XMPPCTL_JID"]; !ok {
		env["XMPPCTL_JID"] = "me@example.org"
		env["XMPPCTL_PASSWORD"] = "pw"
	}
	env["XDG_CONFIG_HOME"] = t.TempDir()
	env["XDG_DATA_HOME"] = t.TempDir()
	f := NewFactory(ios, func(k string) string { return env[k] })
	dials := 0
	sess := xmpptest.New()
	f.Dial = func(context.Context, conn.Options) (conn.Session, error) {
		dials++
		return sess, nil
	}
	return f, &dials, sess
}

func TestSendRejectsBadInputBeforeConnecting(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no recipient", []string{"send", "-m", "x"}, "at least one recipient"},
		{"bad JID", []string{"send", "-m", "x", "a@b@c"}, "invalid JID"},
		{"empty JID", []string{"send", "-m", "x", ""}, "invalid JID"},
		{"bad type", []string{"send", "--type", "groupchat", "-m", "x", "a@b"}, "--type"},
		{"lines and -m", []string{"send", "--lines", "-m", "x", "a@b"}, "--lines"},
		{"room with nick", []string{"send", "--muc", "-m", "x", "room@muc/nick"}, "invalid room"},
		{"receipt in room", []string{"send", "--muc", "--receipt", "-m", "x", "room@muc"}, "--receipt"},
		{"empty body", []string{"send", "-m", "  ", "a@b"}, "empty message"},
		{"unknown flag", []string{"send", "--password", "x", "a@b"}, "unknown flag"},
		{"bad tls", []string{"--tls", "none", "send", "-m", "x", "a@b"}, "invalid tls"},
		{"bad pin", []string{"--pin", "md5:00", "send", "-m", "x", "a@b"}, "invalid pin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantUsageError(t, tt.args, tt.want)
		})
	}
}

func TestSendNoAccount(t *testing.T) {
	f, dials, _ := testFactory(t, map[string]string{"XMPPCTL_JID": ""})
	if code := Run(context.Background(), f, []string{"send", "-m", "x", "a@b"}); code != ExitUsage || *dials != 0 {
		t.Errorf("exit %d, dials %d", code, *dials)
	}
}

func TestSendWritesAndFlushes(t *testing.T) {
	f, dials, sess := testFactory(t, nil)
	f.IO.In = strings.NewReader("first\n\nsecond\n")
	code := Run(context.Background(), f, []string{"send", "--lines", "a@example.org", "b@example.org"})
	if code != 0 || *dials != 1 {
		t.Fatalf("exit %d dials %d: %s", code, *dials, f.IO.ErrOut)
	}
	var bodies []string
	for _, s := range sess.Sent() {
		if strings.HasPrefix(s, "<message") {
			var m stanza.Message
			if err := unmarshal(s, &m); err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, m.To+":"+m.Body)
		}
	}
	want := "a@example.org:first b@example.org:first a@example.org:second b@example.org:second"
	if got := strings.Join(bodies, " "); got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
	if sess.Flushes() != 1 {
		t.Errorf("flushes %d, want 1", sess.Flushes())
	}
}
