package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/muc"
	"github.com/xmppctl/xmppctl/pkg/receipts"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func mustOK(t *testing.T, res testserver.Result) {
	t.Helper()
	if res.Code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", res.Code, res.Stderr)
	}
}

func wantExit(t *testing.T, res testserver.Result, code int, stderrHas string) {
	t.Helper()
	if res.Code != code {
		t.Fatalf("exit %d, want %d; stderr:\n%s", res.Code, code, res.Stderr)
	}
	if stderrHas != "" && !strings.Contains(res.Stderr, stderrHas) {
		t.Errorf("stderr %q does not mention %q", res.Stderr, stderrHas)
	}
	if lines := strings.Count(strings.TrimSpace(res.Stderr), "\n") + 1; code != 0 && code != 3 && lines > 2 {
		t.Errorf("want one error line (+ hint), got %d lines:\n%s", lines, res.Stderr)
	}
}

func TestSendOneMessage(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	res := xmppctl(t, alice, "", "send", "-m", "hello <&> world ]]> \x01bell", srv.JID(bob))
	mustOK(t, res)
	m := rb.message(t, 10*time.Second, fromUser(alice))
	if m.Body != "hello <&> world ]]> bell" {
		t.Errorf("bob got body %q", m.Body)
	}
	if m.Type != stanza.ChatMessage {
		t.Errorf("type %q, want chat", m.Type)
	}
	if o, ok := stanza.Find(m.Ext, stanza.NSSID, "origin-id"); !ok || o.Attr("id") == "" {
		t.Errorf("no origin-id in %+v", m.Ext)
	}
	if res.Stdout != "" {
		t.Errorf("stdout %q, want nothing", res.Stdout)
	}
}

func TestSendStdinMultipleRecipientsSubjectType(t *testing.T) {
	alice, bob, carol := srv.NewUser(t, "alice"), srv.NewUser(t, "bob"), srv.NewUser(t, "carol")
	rb, rc := online(t, bob), online(t, carol)
	body := "line one\nline two\n\ttabbed ünïcödé 🎉"
	mustOK(t, xmppctl(t, alice, body+"\n", "send", "--subject", "Build #42", "--type", "headline",
		srv.JID(bob), srv.JID(carol)))
	for _, r := range []*receiver{rb, rc} {
		m := r.message(t, 10*time.Second, fromUser(alice))
		if m.Body != body || m.Subject != "Build #42" || m.Type != stanza.HeadlineMessage {
			t.Errorf("got body %q subject %q type %q", m.Body, m.Subject, m.Type)
		}
	}
}

func TestSendLinesDeliversAllInOrder(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	var in strings.Builder
	const n = 1000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "line %04d\n", i)
		if i%100 == 0 {
			in.WriteString("\n   \n") // blank lines are skipped
		}
	}
	mustOK(t, xmppctl(t, alice, in.String(), "send", "--lines", srv.JID(bob)))
	got := rb.messages(3*time.Second, fromUser(alice))
	if len(got) != n {
		t.Fatalf("bob got %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if want := fmt.Sprintf("line %04d", i); m.Body != want {
			t.Fatalf("message %d: %q, want %q", i, m.Body, want)
		}
	}
}

func TestSendOOBAndJSON(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	url := "https://example.org/a b/<x>&y.png"
	res := xmppctl(t, alice, "", "--json", "send", "--oob", url, srv.JID(bob))
	mustOK(t, res)
	var r struct{ To, ID, Status string }
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil || r.Status != "sent" || r.To != srv.JID(bob) || r.ID == "" {
		t.Fatalf("json output %q: %v", res.Stdout, err)
	}
	m := rb.message(t, 10*time.Second, fromUser(alice))
	if m.Body != url {
		t.Errorf("body %q", m.Body)
	}
	// go-xmpp parses the first <x/> of a message into its OOB field, which
	// pkg/conn turns back into a jabber:x:oob element.
	x, ok := stanza.Find(m.Ext, stanza.NSOOB, "x")
	var oob struct {
		URL string `xml:"url"`
	}
	if !ok || x.Decode(&oob) != nil || oob.URL != url {
		t.Errorf("oob url %q (found %v), want %q", oob.URL, ok, url)
	}
}

func TestSendReceipt(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	// bob's client answers receipt requests.
	go func() {
		for {
			st, err := rb.sub.Next(context.Background())
			if err != nil {
				return
			}
			if m, ok := st.(*stanza.Message); ok && receipts.Requested(m) {
				_ = rb.s.Send(context.Background(), stanza.Message{To: m.From, ID: conn.NewID(),
					Payload: []any{receipts.Received{ID: m.ID}}})
			}
		}
	}()
	res := xmppctl(t, alice, "", "-v", "send", "--receipt", "-m", "ping?", srv.JID(bob))
	mustOK(t, res)
	if !strings.Contains(res.Stderr, "delivered "+srv.JID(bob)) {
		t.Errorf("stderr does not report delivery: %s", res.Stderr)
	}
}

func TestSendReceiptTimeout(t *testing.T) {
	alice, carol := srv.NewUser(t, "alice"), srv.NewUser(t, "carol")
	online(t, carol) // online, never answers receipts
	res := xmppctl(t, alice, "", "--timeout", "2s", "send", "--receipt", "-m", "anyone?", srv.JID(carol))
	wantExit(t, res, 7, "no delivery receipt from "+srv.JID(carol))
}

func TestSendErrorBounceAndPartial(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	wantExit(t, xmppctl(t, alice, "", "send", "-m", "x", "nobody-here@"+srv.Domain), 5, "service-unavailable")
	res := xmppctl(t, alice, "", "send", "-m", "to both", srv.JID(bob), "nobody-here@"+srv.Domain)
	wantExit(t, res, 3, "nobody-here@"+srv.Domain)
	if m := rb.message(t, 10*time.Second, fromUser(alice)); m.Body != "to both" {
		t.Errorf("bob got %q", m.Body)
	}
}

// createRoom makes an unlocked room owned by user and keeps it joined.
func createRoom(t *testing.T, owner *receiver, room, nick string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := owner.s.Subscribe()
	defer sub.Close()
	type x struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc x"`
	}
	if err := owner.s.Send(ctx, stanza.Presence{To: room + "/" + nick, Payload: []any{x{}}}); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("create room: %v", err)
		}
		if p, ok := st.(*stanza.Presence); ok && p.From == room+"/"+nick {
			break
		}
	}
	type form struct {
		XMLName xml.Name `xml:"jabber:x:data x"`
		Type    string   `xml:"type,attr"`
	}
	type owner2 struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc#owner query"`
		Form    form
	}
	if _, err := owner.s.SendIQ(ctx, stanza.IQ{Type: "set", To: room, Payload: owner2{Form: form{Type: "submit"}}}); err != nil {
		t.Fatalf("unlock room: %v", err)
	}
}

func TestSendMUC(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	room := "ops-" + bob + "@" + srv.MUCHost
	createRoom(t, rb, room, "bob")
	mustOK(t, xmppctl(t, alice, "", "send", "--muc", "--nick", "ci-bot", "-m", "deploy ok", room))
	m := rb.message(t, 10*time.Second, func(m *stanza.Message) bool { return m.Type == stanza.GroupChatMessage && m.Body != "" })
	if m.From != room+"/ci-bot" || m.Body != "deploy ok" {
		t.Errorf("occupant saw %q from %q", m.Body, m.From)
	}
	// A missing room is reported, not created.
	wantExit(t, xmppctl(t, alice, "", "send", "--muc", "-m", "x", "no-such-room-"+bob+"@"+srv.MUCHost), 5, "item-not-found")
}

func TestSendMUCPasswordFromEnv(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	room := "secret-" + bob + "@" + srv.MUCHost
	createRoom(t, rb, room, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type field struct {
		Var   string `xml:"var,attr"`
		Value string `xml:"value"`
	}
	type form struct {
		XMLName xml.Name `xml:"jabber:x:data x"`
		Type    string   `xml:"type,attr"`
		Fields  []field  `xml:"field"`
	}
	type ownerQ struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/muc#owner query"`
		Form    form
	}
	cfg := ownerQ{Form: form{Type: "submit", Fields: []field{
		{"FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"},
		{"muc#roomconfig_passwordprotectedroom", "1"},
		{"muc#roomconfig_roomsecret", "s3cret"},
	}}}
	if _, err := rb.s.SendIQ(ctx, stanza.IQ{Type: "set", To: room, Payload: cfg}); err != nil {
		t.Fatalf("configure room: %v", err)
	}
	wantExit(t, xmppctl(t, alice, "", "send", "--muc", "-m", "x", room), 5, "not-authorized")
	env := append(srv.AccountEnv(alice), "XMPPCTL_ROOM_PASSWORD=s3cret")
	res := testserver.Run(t, "", env, append(srv.Flags(), "send", "--muc", "-m", "with password", room)...)
	mustOK(t, res)
	if m := rb.message(t, 10*time.Second, func(m *stanza.Message) bool { return m.Type == stanza.GroupChatMessage && m.Body != "" }); m.Body != "with password" {
		t.Errorf("occupant saw %q", m.Body)
	}
	_ = muc.Leave(ctx, rb.s, room, "bob")
}

func TestSendFailures(t *testing.T) {
	testserver.Require(t, srv)
	alice := srv.NewUser(t, "alice")
	env := srv.AccountEnv(alice)
	run := func(args ...string) testserver.Result { return testserver.Run(t, "", env, args...) }
	t.Run("wrong password", func(t *testing.T) {
		res := testserver.Run(t, "", []string{"XMPPCTL_JID=" + srv.JID(alice), "XMPPCTL_PASSWORD=wrong"},
			append(srv.Flags(), "send", "-m", "x", "bob@"+srv.Domain)...)
		wantExit(t, res, 4, "authentication failed")
	})
	t.Run("unknown host", func(t *testing.T) {
		wantExit(t, run("--server", "no-such-host.invalid:5222", "--ca-file", srv.CAFile, "send", "-m", "x", "bob@"+srv.Domain), 6, "no-such-host.invalid")
	})
	t.Run("refused port", func(t *testing.T) {
		wantExit(t, run("--server", "127.0.0.1:1", "--tls", "starttls", "send", "-m", "x", "bob@"+srv.Domain), 6, "refused")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		wantExit(t, run("--server", srv.Addr(), "--tls", "starttls", "send", "-m", "x", "bob@"+srv.Domain), 6, "certificate")
	})
	t.Run("untrusted certificate direct TLS", func(t *testing.T) {
		wantExit(t, run("--server", srv.TLSAddr(), "--tls", "direct", "send", "-m", "x", "bob@"+srv.Domain), 6, "certificate")
	})
	t.Run("wrong pin", func(t *testing.T) {
		wantExit(t, run("--server", srv.Addr(), "--tls", "starttls", "--pin", "sha256:"+strings.Repeat("ab", 32),
			"send", "-m", "x", "bob@"+srv.Domain), 6, "pinned")
	})
	t.Run("bad JID is rejected before connecting", func(t *testing.T) {
		// The server address is unroutable on purpose: connecting would fail with 6.
		wantExit(t, run("--server", "127.0.0.1:1", "send", "-m", "x", "bad@@jid"), 2, "invalid JID")
	})
	t.Run("stanza over the server's limit", func(t *testing.T) {
		// 60 KB passes (the SASL2 session has the normal limit), 300 KB
		// ends the stream: a clear error, status 6.
		mustOK(t, testserver.Run(t, strings.Repeat("a", 60000), env, append(srv.Flags(), "send", "bob@"+srv.Domain)...))
		res := testserver.Run(t, strings.Repeat("a", 300000), env, append(srv.Flags(), "send", "bob@"+srv.Domain)...)
		wantExit(t, res, 6, "too big")
	})
	t.Run("timeout", func(t *testing.T) {
		// A listener that accepts and never speaks.
		l := silentListener(t)
		wantExit(t, run("--server", l, "--tls", "starttls", "--timeout", "1s", "send", "-m", "x", "bob@"+srv.Domain), 7, "")
	})
}

func TestSendPinnedAndDirectTLS(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	pemBytes, err := os.ReadFile(filepath.Join(srv.Dir, "certs", srv.Domain+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki, whole := conn.PinOf(cert)
	env := srv.AccountEnv(alice)
	for i, pin := range []string{spki, whole} {
		res := testserver.Run(t, "", env, "--server", srv.TLSAddr(), "--tls", "direct", "--pin", pin,
			"send", "-m", fmt.Sprintf("pinned %d", i), srv.JID(bob))
		mustOK(t, res)
		if m := rb.message(t, 10*time.Second, fromUser(alice)); m.Body != fmt.Sprintf("pinned %d", i) {
			t.Errorf("bob got %q", m.Body)
		}
	}
}

func TestSendInsecureWarns(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	online(t, bob)
	res := testserver.Run(t, "", srv.AccountEnv(alice), "--server", srv.Addr(), "--tls", "starttls", "--insecure",
		"send", "-m", "x", srv.JID(bob))
	mustOK(t, res)
	if !strings.Contains(res.Stderr, "NOT verified") {
		t.Errorf("no warning on stderr: %q", res.Stderr)
	}
}

func TestSendDebugXMLRedactsCredentials(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	online(t, bob)
	res := xmppctl(t, alice, "", "--debug-xml", "send", "-m", "debug me", srv.JID(bob))
	mustOK(t, res)
	if !strings.Contains(res.Stderr, "debug me") || !strings.Contains(res.Stderr, "SEND <message") {
		t.Errorf("stream not shown: %s", res.Stderr)
	}
	if strings.Contains(res.Stderr, srv.Users[alice]) {
		t.Errorf("password leaked in debug output")
	}
	for _, l := range strings.Split(res.Stderr, "\n") {
		if strings.HasPrefix(l, "SEND ") && (strings.Contains(l, "<auth ") || strings.Contains(l, "<authenticate ") || strings.Contains(l, "<response ")) {
			if !strings.Contains(l, "[redacted]") {
				t.Errorf("credential element not redacted: %s", l)
			}
		}
	}
}

func TestSendConfigFile(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	path := srv.Config(t, "nobody", fmt.Sprintf(`
[account.work]
jid = %q
password_command = "echo %s"
`, srv.JID(alice), srv.Users[alice]))
	res := testserver.Run(t, "", nil, "--config", path, "--account", "work", "send", "-m", "from config", srv.JID(bob))
	mustOK(t, res)
	if m := rb.message(t, 10*time.Second, fromUser(alice)); m.Body != "from config" {
		t.Errorf("bob got %q", m.Body)
	}
	// A file holding a literal password must be private.
	path = srv.Config(t, alice)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	res = testserver.Run(t, "", nil, "--config", path, "send", "-m", "x", srv.JID(bob))
	wantExit(t, res, 2, "chmod 600")
}
