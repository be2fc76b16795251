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
	if rep.Domain != srv.Domain || rep.Software != "Prosody" {
		t.Errorf("report header %+v", rep)
	}
	m := map[string]compliance.Result{}
	for _, r := range rep.Results {
		m[r.Feature] = r
	}
	return m
}

// What the test server really has (shared/reference/testserver/README.md,
// "Feature verdicts") is reported supported; FAST (mod_sasl2_fast cannot
// load on Prosody 0.12) and push (no mod_cloud_notify) are missing.
func TestCheckReportsTestServerFeatures(t *testing.T) {
	got := checkReport(t, xmppctl(t, srv.NewUser(t, "alice"), "", "--json", "check"))
	supported := []string{
		"Service discovery", "Entity capabilities", "Roster versioning", "TLS", "STARTTLS", "SASL mechanisms",
		"SASL2", "Bind2", "Stream management", "Client state indication", "Message carbons",
		"Message archive (account)", "Message archive (group chats)", "Blocking", "Personal eventing (PEP)",
		"Publish options and access models", "User avatars (PEP)", "vCard (vcard-temp)", "vCard4",
		"Avatar conversion", "HTTP file upload", "SOCKS5 proxy", "Group chat service",
	}
	for _, f := range supported {
		if got[f].Status != compliance.Supported {
			t.Errorf("%s: %+v, want supported", f, got[f])
		}
	}
	for _, f := range []string{"FAST", "Push notifications", "Channel binding (SCRAM -PLUS)", "SRV records"} {
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
	if got["Direct TLS"].Status != compliance.Supported || got["FAST"].Status != compliance.Missing ||
		got["SASL2"].Status != compliance.Supported {
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
