package compliance

import (
	"bytes"
	"net"
	"os"
	"reflect"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/disco"
)

func loginFeatures(t testing.TB) [][]byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/prosody-login.txt")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
}

func TestParseStreamProsody(t *testing.T) {
	st := ParseStream(loginFeatures(t))
	if st.Seen != 3 || !st.StartTLSRequired || !st.SASL2 || !st.Bind2 || st.FAST || !st.SM || !st.CSI || !st.RosterVer ||
		st.Caps == nil || st.Caps.Ver != "j/Y94sSrQ04HC31Dsn52+Z4ESGQ=" {
		t.Errorf("stream = %+v", st)
	}
	if !reflect.DeepEqual(st.Mechanisms, []string{"PLAIN", "SCRAM-SHA-1"}) ||
		!reflect.DeepEqual(st.Bind2Inline, []string{"urn:xmpp:carbons:2", "urn:xmpp:csi:0"}) {
		t.Errorf("mechanisms %v, bind2 inline %v", st.Mechanisms, st.Bind2Inline)
	}
	fast := ParseStream([][]byte{[]byte(`<stream:features><authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256-PLUS</mechanism><inline><fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-EXPR</mechanism></fast></inline></authentication><sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding></stream:features>`)})
	if !fast.FAST || !reflect.DeepEqual(fast.FASTMechanisms, []string{"HT-SHA-256-EXPR"}) ||
		!reflect.DeepEqual(fast.ChannelBindings, []string{"tls-exporter"}) {
		t.Errorf("fast stream = %+v", fast)
	}
}

func statusOf(rep Report) map[string]Status {
	m := map[string]Status{}
	for _, r := range rep.Results {
		m[r.Feature] = r.Status
	}
	return m
}

func TestEvaluate(t *testing.T) {
	server := &disco.Info{JID: "example.org", Identities: []disco.Identity{{Category: "server", Type: "im", Name: "Prosody"}},
		Features: []string{"urn:xmpp:carbons:2", "urn:xmpp:blocking", "vcard-temp"}}
	account := &disco.Info{Identities: []disco.Identity{{Category: "pubsub", Type: "pep"}},
		Features: []string{"urn:xmpp:mam:2", "http://jabber.org/protocol/pubsub#publish-options"}}
	upload := &disco.Info{JID: "upload.example.org", Identities: []disco.Identity{{Category: "store", Type: "file"}},
		Features: []string{"urn:xmpp:http:upload:0"}, Forms: []disco.Form{{Type: "result", Fields: []disco.Field{
			{Var: "FORM_TYPE", Type: "hidden", Values: []string{"urn:xmpp:http:upload:0"}},
			{Var: "max-file-size", Values: []string{"104857600"}}}}}}
	base := Facts{Domain: "example.org", Own: true, Connected: "xmpp.example.org:5223 direct TLS", Direct: true,
		SRV: SRV{ClientTLS: []*net.SRV{{Target: "xmpp.example.org.", Port: 5223}}},
		TLS: &TLSInfo{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256"}, Stream: ParseStream(loginFeatures(t)),
		CapsCheck: "verified", Server: server, Account: account, Services: []*disco.Info{upload}}
	rep := Evaluate(base)
	got := statusOf(rep)
	want := map[string]Status{
		"Service discovery": Supported, "Entity capabilities": Supported, "SRV records": Supported, "TLS": Supported,
		"Direct TLS": Supported, "STARTTLS": Supported, "SASL mechanisms": Supported,
		"Channel binding (SCRAM -PLUS)": Missing, "SASL2": Supported, "Bind2": Supported, "FAST": Missing,
		"Stream management": Supported, "Client state indication": Supported, "Message carbons": Supported,
		"Message archive (account)": Supported, "Message archive (group chats)": Missing, "Blocking": Supported,
		"Personal eventing (PEP)": Supported, "HTTP file upload": Supported, "SOCKS5 proxy": Missing,
		"Group chat service": Missing, "Push notifications": Missing,
	}
	for f, w := range want {
		if got[f] != w {
			t.Errorf("%s: %s, want %s", f, got[f], w)
		}
	}
	if rep.Software != "Prosody" {
		t.Errorf("software %q", rep.Software)
	}
	for _, r := range rep.Results {
		if r.Feature == "HTTP file upload" && r.Detail != "upload.example.org, max file size 100 MiB" {
			t.Errorf("upload detail %q", r.Detail)
		}
		if r.Status == Missing && r.Impact == "" {
			t.Errorf("%s is missing without saying what that means", r.Feature)
		}
		if r.Status == Supported && r.Impact != "" {
			t.Errorf("%s is supported but has an impact text", r.Feature)
		}
	}

	// Another domain: account features cannot be judged from here.
	other := base
	other.Own, other.Account = false, nil
	if s := statusOf(Evaluate(other)); s["Message archive (account)"] != Unknown || s["Push notifications"] != Unknown {
		t.Errorf("foreign domain: %v", s)
	}
	// No SRV, explicit server, STARTTLS: SRV missing, direct TLS unknown.
	explicit := base
	explicit.SRV, explicit.Direct, explicit.Explicit = SRV{Note: "reserved name, not looked up in DNS"}, false, true
	explicit.Connected = "127.0.0.1:5222 STARTTLS"
	rep = Evaluate(explicit)
	for _, r := range rep.Results {
		if r.Feature == "SRV records" && (r.Status != Missing || !bytes.Contains([]byte(r.Detail), []byte("connected via explicit server 127.0.0.1:5222"))) {
			t.Errorf("SRV: %+v", r)
		}
		if r.Feature == "Direct TLS" && r.Status != Unknown {
			t.Errorf("direct TLS: %+v", r)
		}
	}
}

// vCard4 without a server module (ejabberd 23.01) still works as a PEP
// node the client publishes: partial, not missing.
func TestEvaluateVCard4(t *testing.T) {
	pepAccount := func(features ...string) *disco.Info {
		return &disco.Info{Identities: []disco.Identity{{Category: "pubsub", Type: "pep"}}, Features: features}
	}
	for _, tt := range []struct {
		name    string
		account *disco.Info
		want    Status
	}{
		{"advertised", pepAccount("urn:ietf:params:xml:ns:vcard-4.0"), Supported},
		{"PEP with publish-options", pepAccount("http://jabber.org/protocol/pubsub#publish-options"), Partial},
		{"PEP without publish-options", pepAccount(), Missing},
		{"no PEP", &disco.Info{Features: []string{"http://jabber.org/protocol/pubsub#publish-options"}}, Missing},
	} {
		f := Facts{Domain: "example.org", Own: true, Server: &disco.Info{JID: "example.org"}, Account: tt.account}
		for _, r := range Evaluate(f).Results {
			if r.Feature != "vCard4" {
				continue
			}
			if r.Status != tt.want || (r.Status == Partial && (r.Detail == "" || r.Impact == "")) {
				t.Errorf("%s: %+v, want %s", tt.name, r, tt.want)
			}
		}
	}
}

func FuzzParseStream(f *testing.F) {
	for _, l := range loginFeatures(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st := ParseStream([][]byte{data})
		_ = Evaluate(Facts{Domain: "x", Stream: st})
	})
}
