package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestLoadAndSelect(t *testing.T) {
	p := write(t, `
jid = "me@example.org"
password = "top"
server = "xmpp.example.org:5223"
tls = "direct"
ca_file = "/ca.pem"
max_stanza = 1000

[account.work]
jid = "me@work.example"
password_command = "pass work"
pin = "sha256:00"
max_stanza = 2000
`, 0o600)
	f, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := f.Select("")
	if top.JID != "me@example.org" || top.Password != "top" || top.TLS != "direct" || top.MaxStanza != 1000 {
		t.Errorf("top = %+v", top)
	}
	w, err := f.Select("work")
	if err != nil {
		t.Fatal(err)
	}
	if w.JID != "me@work.example" || w.Password != "" || w.PasswordCommand != "pass work" || w.Pin != "sha256:00" ||
		w.Server != "xmpp.example.org:5223" || w.MaxStanza != 2000 {
		t.Errorf("work = %+v (credentials must not leak from the top level; settings inherit)", w)
	}
	var ce *Error
	if _, err := f.Select("nope"); !errors.As(err, &ce) || !strings.Contains(ce.Hint, "work") {
		t.Errorf("unknown account: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body string
		mode       os.FileMode
		want       string
	}{
		{"world-readable with password", `password = "x"`, 0o644, "chmod 600"},
		{"group-readable room password", "[account.a]\nroom_password = \"x\"", 0o640, "chmod 600"},
		{"unknown key", `jdi = "typo"`, 0o600, "unknown key jdi"},
		{"syntax", `jid = `, 0o600, "config"},
		{"negative max_stanza", "[account.a]\nmax_stanza = -1", 0o600, "max_stanza -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(write(t, tt.body, tt.mode), false)
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg+" "+ce.Hint, tt.want) {
				t.Errorf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
	if _, err := Load(write(t, `jid = "a@b"`, 0o644), false); err != nil {
		t.Errorf("a readable file without secrets is fine: %v", err)
	}
	if f, err := Load("/nonexistent/config.toml", true); err != nil || f.Path != "" {
		t.Errorf("optional missing file: %v", err)
	}
	if _, err := Load("/nonexistent/config.toml", false); err == nil {
		t.Error("explicit missing file accepted")
	}
}

func TestApplyEnv(t *testing.T) {
	a := Account{JID: "a@b", PasswordCommand: "cmd"}
	a.ApplyEnv(env(map[string]string{"XMPPCTL_PASSWORD": "envpw"}))
	if a.Password != "envpw" || a.PasswordCommand != "" {
		t.Errorf("password env: %+v", a)
	}
	b := Account{JID: "a@b", Password: "filepw"}
	b.ApplyEnv(env(map[string]string{"XMPPCTL_JID": "c@d"}))
	if b.JID != "c@d" || b.Password != "" {
		t.Errorf("another JID must not inherit the file's password: %+v", b)
	}
}

func TestResolvePassword(t *testing.T) {
	ctx := context.Background()
	a := Account{JID: "a@b", PasswordCommand: "printf '  s3cret \\n'"}
	if pw, err := a.ResolvePassword(ctx); err != nil || pw != "s3cret" {
		t.Errorf("password_command: %q %v", pw, err)
	}
	for _, bad := range []Account{{JID: "a@b"}, {JID: "a@b", PasswordCommand: "exit 3"}, {JID: "a@b", PasswordCommand: "true"}} {
		var ce *Error
		if _, err := bad.ResolvePassword(ctx); !errors.As(err, &ce) {
			t.Errorf("%+v: err = %v, want *Error", bad, err)
		}
	}
}

func TestDefaultPaths(t *testing.T) {
	if got := DefaultPath(env(map[string]string{"XDG_CONFIG_HOME": "/x"})); got != "/x/xmppctl/config.toml" {
		t.Errorf("got %s", got)
	}
	if got := DefaultPath(env(map[string]string{"HOME": "/h"})); got != "/h/.config/xmppctl/config.toml" {
		t.Errorf("got %s", got)
	}
	if got := DefaultPath(env(map[string]string{"XMPPCTL_CONFIG": "/c.toml", "HOME": "/h"})); got != "/c.toml" {
		t.Errorf("got %s", got)
	}
	if got := DefaultDataDir(env(map[string]string{"XDG_DATA_HOME": "/d"})); got != "/d/xmppctl" {
		t.Errorf("got %s", got)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("jid = \"a@b\"\n[account.x]\njid = \"c@d\"\n")
	f.Add("password = 1")
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = Load(p, false) // must not panic
	})
}

func TestOMEMOKeys(t *testing.T) {
	p := write(t, `
jid = "me@example.org"
omemo_trust = "manual"

[account.bot]
jid = "bot@example.org"
omemo = true
`, 0o600)
	f, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := f.Select("")
	bot, _ := f.Select("bot")
	if top.OMEMO || top.OMEMOTrust != "manual" || !bot.OMEMO || bot.OMEMOTrust != "manual" {
		t.Errorf("top %+v, bot %+v", top, bot)
	}
}
