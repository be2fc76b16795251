package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/iostreams"
	"github.com/xmppctl/xmppctl/pkg/store"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"2024-05-01T10:00:00Z", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), false},
		{"2024-05-01T10:00:00+02:00", time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), false},
		{"72h", now.Add(-72 * time.Hour), false},
		{"yesterday", time.Time{}, true},
		{"-5h", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseWhen("since", tt.in, now)
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
	if d, err := parseWhen("since", "2024-05-01", now); err != nil || d.IsZero() {
		t.Errorf("date: %v %v", d, err)
	}
}

func sample(body string) *store.Message {
	return &store.Message{Archive: "me@x", StanzaID: "s1", From: "bob@x/r", To: "me@x", With: "bob@x",
		Direction: store.In, Type: "chat", Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Body: body}
}

// Remote text must never reach the terminal with its control sequences;
// styling adds only our own SGR codes, and only on a terminal.
func TestPrinterNeutralisesControlSequences(t *testing.T) {
	evil := "\x1b]0;pwned\x07*bold* \x1b[2J\rgone\u202eevil"
	for _, tty := range []bool{false, true} {
		var out bytes.Buffer
		p := &messagePrinter{w: &out, tty: tty, local: time.UTC}
		m := sample(evil)
		m.With = "bob@x\x1b[31m"
		if err := p.print(m); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		for _, bad := range []string{"\x1b]", "\x07", "\x1b[2J", "\r", "\u202e", "\x1b[31m"} {
			if strings.Contains(got, bad) {
				t.Errorf("tty=%v: output %q contains %q", tty, got, bad)
			}
		}
		if tty && !strings.Contains(got, "\x1b[1mbold\x1b[0m") {
			t.Errorf("tty: no bold in %q", got)
		}
		if !tty && strings.Contains(got, "\x1b") {
			t.Errorf("piped output has escapes: %q", got)
		}
	}
}

func TestPrinterLine(t *testing.T) {
	var out bytes.Buffer
	p := &messagePrinter{w: &out, local: time.UTC}
	m := sample("two\nlines")
	_ = p.print(m)
	out2 := sample("")
	out2.Direction, out2.OOB = store.Out, "https://x/f.png"
	_ = p.print(out2)
	want := "2024-05-01 10:00:00  <- bob@x  two\n" + strings.Repeat(" ", 31) + "lines\n" +
		"2024-05-01 10:00:00  -> bob@x  <https://x/f.png>\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func TestWriteMbox(t *testing.T) {
	var out bytes.Buffer
	m := sample("hello\nFrom here on\n>From quoted")
	m.Subject = "evil\nBcc: x@y"
	if err := writeMbox(&out, m); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"From bob@x Wed May  1 10:00:00 2024\n", "Message-ID: <s1.me@x>\n",
		"Subject: evil Bcc: x@y\n", "\n>From here on\n", "\n>>From quoted\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("mbox lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\nBcc:") {
		t.Error("header injection through the subject")
	}
}

func TestArchiveListFromStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(b *store.Batch) error {
		m := sample("*hi*")
		m.Account = "me@x"
		_, err := b.Put(m)
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	f := NewFactory(ios, func(k string) string {
		return map[string]string{"XMPPCTL_JID": "me@x", "XMPPCTL_PASSWORD": "pw", "XDG_CONFIG_HOME": dir}[k]
	})
	code := Run(context.Background(), f, []string{"--data-dir", dir, "--json", "archive", "list"})
	if code != 0 || !strings.Contains(out.String(), `"body":"*hi*"`) || !strings.Contains(out.String(), `"id":"s1"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := Run(context.Background(), f, []string{"--data-dir", dir, "archive", "search", "nothing-like-it"}); code != 0 || out.Len() != 0 {
		t.Fatalf("search: exit %d, %q", code, out.String())
	}
}
