package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/compliance"
)

func checkReport(t *testing.T, res testserver.Result) map[string]compliance.Result {
	t.Helper()
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	var rep compliance.Report
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("parse %q: %v", res.Stdout, err)
	}
	software := map[string]string{testserver.Prosody: "Prosody", testserver.Ejabberd: "ejabberd"}[srv.Kind]
	if rep.Domain != srv.Domain || rep.Software != software {
		t.Errorf("report header %+v", rep)
	}
	m := map[string]compliance.Result{}
	for _, r := range rep.Results {
		m[r.Feature] = r
	}
	return m
}

// What each test server really has is reported supported, what it lacks
// missing: on Prosody 0.12 FAST (mod_sasl2_fast cannot load), push (no
// mod_cloud_notify) and channel binding; on ejabberd 23.01 SASL2, Bind2
// and FAST (they came in 24.x), push and external services (not
// configured), and vCard4 is partial (no server module, but PEP keeps the
// node a client publishes).
func TestCheckReportsTestServerFeatures(t *testing.T) {
	got := checkReport(t, xmppctl(t, srv.NewUser(t, "alice"), "", "--json", "check"))
	supported := []string{
		"Service discovery", "Entity capabilities", "Roster versioning", "TLS", "STARTTLS", "SASL mechanisms",
		"Stream management", "Client state indication", "Message carbons",
		"Message archive (account)", "Message archive (group chats)", "Blocking", "Personal eventing (PEP)",
		"Publish options and access models", "User avatars (PEP)", "vCard (vcard-temp)",
		"Avatar conversion", "HTTP file upload", "SOCKS5 proxy", "Group chat service",
	}
	missing := []string{"FAST", "Push notifications", "SRV records"}
	var partial []string
	switch srv.Kind {
	case testserver.Prosody:
		supported = append(supported, "SASL2", "Bind2", "vCard4")
		missing = append(missing, "Channel binding (SCRAM -PLUS)")
	case testserver.Ejabberd:
		supported = append(supported, "Channel binding (SCRAM -PLUS)")
		missing = append(missing, "SASL2", "Bind2", "External services (STUN/TURN)")
		partial = append(partial, "vCard4")
	}
	for _, f := range supported {
		if got[f].Status != compliance.Supported {
			t.Errorf("%s: %+v, want supported", f, got[f])
		}
	}
	for _, f := range partial {
		if got[f].Status != compliance.Partial || got[f].Detail == "" {
			t.Errorf("%s: %+v, want partial with a detail", f, got[f])
		}
	}
	for _, f := range missing {
		if got[f].Status != compliance.Missing || got[f].Impact == "" {
			t.Errorf("%s: %+v, want missing with its impact", f, got[f])
		}
	}
	if d := got["Entity capabilities"].Detail; !strings.Contains(d, "verified") {
		t.Errorf("caps not verified: %q", d)
	}
	if d := got["HTTP file upload"].Detail; d != srv.UploadHost+", max file size 256 MiB" {
		t.Errorf("upload detail %q", d)
	}
	if d := got["SRV records"].Detail; !strings.Contains(d, "connected via explicit server "+srv.Addr()) {
		t.Errorf("SRV detail %q", d)
	}
	if d := got["TLS"].Detail; !strings.HasPrefix(d, "TLS 1.3") {
		t.Errorf("TLS detail %q", d)
	}
	if got["Direct TLS"].Status != compliance.Unknown || got["STARTTLS"].Detail != "required" {
		t.Errorf("direct TLS %+v, STARTTLS %+v", got["Direct TLS"], got["STARTTLS"])
	}
}

func TestCheckOverDirectTLS(t *testing.T) {
	user := srv.NewUser(t, "alice")
	testserver.Require(t, srv)
	res := testserver.Run(t, "", srv.AccountEnv(user),
		"--server", srv.TLSAddr(), "--tls", "direct", "--ca-file", srv.CAFile, "--json", "check")
	got := checkReport(t, res)
	sasl2 := compliance.Supported
	if srv.Kind == testserver.Ejabberd {
		sasl2 = compliance.Missing
	}
	if got["Direct TLS"].Status != compliance.Supported || got["FAST"].Status != compliance.Missing ||
		got["SASL2"].Status != sasl2 {
		t.Errorf("direct TLS %+v, FAST %+v, SASL2 %+v", got["Direct TLS"], got["FAST"], got["SASL2"])
	}
}

func TestCheckHumanTable(t *testing.T) {
	res := xmppctl(t, srv.NewUser(t, "alice"), "", "check")
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	var fast string
	for _, l := range strings.Split(res.Stdout, "\n") {
		if strings.Contains(l, "XEP-0484") && strings.HasPrefix(l, "authentication") {
			fast = l
		}
	}
	if !strings.Contains(fast, "FAST") || !strings.Contains(fast, "missing") {
		t.Errorf("FAST line %q in:\n%s", fast, res.Stdout)
	}
	if !strings.Contains(res.Stdout, "FAST (XEP-0484): every login repeats") {
		t.Errorf("no explanation of what missing FAST means:\n%s", res.Stdout)
	}
	if bad := xmppctl(t, srv.NewUser(t, "alice"), "", "check", "user@example.org"); bad.Code != 2 {
		t.Errorf("check of a user JID: exit %d, want 2", bad.Code)
	}
}
