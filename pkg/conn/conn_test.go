package conn

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func fakeLookup(recs map[string][]*net.SRV) LookupSRV {
	return func(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
		r, ok := recs[service]
		if !ok {
			return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}
		return "", r, nil
	}
}

func TestResolve(t *testing.T) {
	both := map[string][]*net.SRV{
		"xmpps-client": {{Target: "tls.example.org.", Port: 443, Priority: 10, Weight: 5}},
		"xmpp-client": {
			{Target: "b.example.org.", Port: 5222, Priority: 5, Weight: 0},
			{Target: "c.example.org.", Port: 5222, Priority: 10, Weight: 5},
			{Target: "a.example.org.", Port: 5222, Priority: 5, Weight: 10},
		},
	}
	tests := []struct {
		name    string
		server  string
		mode    string
		recs    map[string][]*net.SRV
		want    []Target
		wantErr bool
	}{
		{name: "no SRV falls back to 5222", want: []Target{{"example.org:5222", false}}},
		{name: "no SRV, direct", mode: "direct", want: []Target{{"example.org:5223", true}}},
		{name: "merged by priority then weight, direct first on ties", recs: both, want: []Target{
			{"a.example.org:5222", false}, {"b.example.org:5222", false},
			{"tls.example.org:443", true}, {"c.example.org:5222", false},
		}},
		{name: "starttls only", recs: both, mode: "starttls", want: []Target{
			{"a.example.org:5222", false}, {"b.example.org:5222", false}, {"c.example.org:5222", false},
		}},
		{name: "dot target means no service", recs: map[string][]*net.SRV{"xmpp-client": {{Target: ".", Port: 0}}},
			want: []Target{{"example.org:5222", false}}},
		{name: "explicit server skips SRV", server: "10.0.0.1:5223", recs: both, want: []Target{{"10.0.0.1:5223", true}}},
		{name: "explicit server starttls", server: "h:5223", mode: "starttls", want: []Target{{"h:5223", false}}},
		{name: "explicit host without port", server: "h", want: []Target{{"h:5222", false}}},
		{name: "ipv6", server: "[::1]:5222", want: []Target{{"[::1]:5222", false}}},
		{name: "bad port", server: "h:99999", wantErr: true},
		{name: "bad mode", mode: "plain", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), "example.org", tt.server, tt.mode, fakeLookup(tt.recs))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePin(t *testing.T) {
	good := "sha256:" + strings.Repeat("0a", 32)
	for _, p := range []string{good, strings.ToUpper(good[7:]) + "", "sha256:" + strings.Repeat("0A:", 31) + "0A"} {
		_, err := ParsePin(p)
		if p == strings.ToUpper(good[7:]) {
			if err == nil {
				t.Errorf("pin without sha256: prefix accepted")
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePin(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", "sha1:00", "sha256:zz", "sha256:" + strings.Repeat("0a", 31)} {
		if _, err := ParsePin(p); err == nil {
			t.Errorf("ParsePin(%q) accepted", p)
		}
	}
}

func TestPinVerification(t *testing.T) {
	cert := &x509.Certificate{Raw: []byte("cert"), RawSubjectPublicKeyInfo: []byte("spki")}
	spki, whole := PinOf(cert)
	for _, tt := range []struct {
		pin string
		ok  bool
	}{{spki, true}, {whole, true}, {"sha256:" + strings.Repeat("00", 32), false}} {
		cfg, err := TLSPolicy{Pin: tt.pin}.Config("example.org")
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}})
		if (err == nil) != tt.ok {
			t.Errorf("pin %s: err = %v, want ok=%v", tt.pin, err, tt.ok)
		}
		var pe *PinError
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("want *PinError, got %T", err)
		}
	}
}

func TestTLSPolicyDefaultsVerify(t *testing.T) {
	cfg, err := TLSPolicy{}.Config("example.org")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.InsecureSkipVerify || cfg.ServerName != "example.org" || cfg.MinVersion < tls.VersionTLS12 {
		t.Errorf("default config does not verify: %+v", cfg)
	}
	if _, err := (TLSPolicy{CAFile: "/nonexistent"}).Config("x"); err == nil {
		t.Error("missing ca_file accepted")
	}
	f := t.TempDir() + "/ca.pem"
	_ = os.WriteFile(f, []byte("not pem"), 0o600)
	if _, err := (TLSPolicy{CAFile: f}).Config("x"); err == nil {
		t.Error("ca_file without PEM accepted")
	}
}

func TestLadder(t *testing.T) {
	offered := []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "X-OAUTH2"}
	tests := []struct {
		cb    bool
		tried map[string]bool
		want  []string
	}{
		{false, nil, []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}},
		{true, nil, []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}},
		{true, map[string]bool{"SCRAM-SHA-1-PLUS": true, "SCRAM-SHA-256": true}, []string{"SCRAM-SHA-1", "PLAIN"}},
	}
	for i, tt := range tests {
		if got := ladder(offered, tt.cb, tt.tried); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%d: got %v, want %v", i, got, tt.want)
		}
	}
}

// ejabberd 23.01 offers -PLUS without channel-binding types; go-xmpp picks
// SCRAM-SHA-512-PLUS anyway, and after its failure the ladder must go on
// with SCRAM-SHA-512, not skip it.
func TestGoxmppChoiceThenLadder(t *testing.T) {
	offered := []string{"PLAIN", "SCRAM-SHA-512-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}
	first := goxmppChoice(offered)
	if first != "SCRAM-SHA-512-PLUS" {
		t.Fatalf("go-xmpp's choice %q", first)
	}
	if next := ladder(offered, false, map[string]bool{"": true, first: true}); len(next) == 0 || next[0] != "SCRAM-SHA-512" {
		t.Fatalf("after it: %v", next)
	}
	if goxmppChoice([]string{"X-UNKNOWN"}) != "" {
		t.Fatal("choice among unknown mechanisms")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err       error
		auth, tls bool
		mechIssue bool
	}{
		{errors.New("auth failure: Invalid channel binding value"), true, false, true},
		{errors.New("auth failure: malformed-request"), true, false, true},
		{errors.New("auth failure: Unable to authorize you with the authentication credentials you've sent."), true, false, false},
		{errors.New("auth failure: not-authorized"), true, false, false},
		{fmt.Errorf("no viable authentication method available: [X]"), true, false, true},
		{errors.New("starttls handshake: tls: failed to verify certificate: x509: certificate signed by unknown authority"), false, true, false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, false, false, false},
		{&PinError{Got: "sha256:00"}, false, true, false},
	}
	for _, tt := range tests {
		got := classify("h:1", tt.err)
		var ae *AuthError
		var ce *ConnectError
		switch {
		case tt.auth:
			if !errors.As(got, &ae) {
				t.Errorf("%v: got %T, want *AuthError", tt.err, got)
			} else if mechanismProblem(got) != tt.mechIssue {
				t.Errorf("%v: mechanismProblem = %v", tt.err, !tt.mechIssue)
			}
		default:
			if !errors.As(got, &ce) || ce.TLS != tt.tls {
				t.Errorf("%v: got %#v, want ConnectError TLS=%v", tt.err, got, tt.tls)
			}
		}
	}
}

func TestTapRecordsMechanismsAndRedacts(t *testing.T) {
	var out bytes.Buffer
	tp := newTap(&out)
	chunks := []string{
		"RECV <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mecha",
		"RECV nism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms><sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'/></stream:features>",
		"SEND <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>",
		"SEND <response xmlns='urn:xmpp:sasl:2'>Yz1iaXdzLHI9c2VjcmV0</response>",
		"RECV <success xmlns='urn:xmpp:sasl:2'><additional-data>dj1zZWNyZXQ=</additional-data><token xmlns='urn:xmpp:fast:0' token='SECRET' expiry='x'/></success>",
		"SEND <presence to='r@c/n'><x xmlns='http://jabber.org/protocol/muc'><password>roompw</password></x></presence>",
	}
	for _, c := range chunks {
		if _, err := tp.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	mechs, cb := tp.offered()
	if !reflect.DeepEqual(mechs, []string{"SCRAM-SHA-1", "PLAIN"}) || !cb {
		t.Errorf("offered = %v, cb = %v", mechs, cb)
	}
	for _, secret := range []string{"AGFsaWNlAHNlY3JldA==", "Yz1iaXdzLHI9c2VjcmV0", "dj1zZWNyZXQ=", "SECRET", "roompw"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("debug output leaks %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "<mechanism>PLAIN</mechanism>") {
		t.Errorf("non-secret content lost:\n%s", out.String())
	}
}

func TestIdentityIsStableAndPrivate(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("identity changed: %+v vs %+v", a, b)
	}
	if !strings.HasPrefix(a.Resource, "xmppctl.") || len(a.Resource) != len("xmppctl.")+8 {
		t.Errorf("resource %q", a.Resource)
	}
	if len(a.UserAgentID) != 36 || a.UserAgentID[14] != '4' {
		t.Errorf("user agent id %q is not a UUIDv4", a.UserAgentID)
	}
	st, err := os.Stat(dir + "/identity.json")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("identity file mode %v, err %v", st.Mode(), err)
	}
	c, _ := LoadIdentity(t.TempDir())
	if c.Resource == a.Resource || c.UserAgentID == a.UserAgentID {
		t.Error("two installations share an identity")
	}
}

func TestMechMemory(t *testing.T) {
	m := mechMemory{path: t.TempDir() + "/m.json"}
	if m.get("k") != "" {
		t.Fatal("empty memory returned a mechanism")
	}
	m.put("k", "PLAIN")
	m.put("k2", "SCRAM-SHA-256")
	if m.get("k") != "PLAIN" || m.get("k2") != "SCRAM-SHA-256" {
		t.Fatal("memory lost an entry")
	}
}

func TestUnknownElement(t *testing.T) {
	el, ok := unknownElement(errors.New("unexpected XMPP message urn:xmpp:sm:3 <a/>"))
	if !ok || el != stanza.NSSM+" <a/>" {
		t.Errorf("got %q %v", el, ok)
	}
	if _, ok := unknownElement(errors.New("EOF")); ok {
		t.Error("EOF taken for an element")
	}
}

func TestConvert(t *testing.T) {
	chat := xmpp.Chat{Remote: "a@b/c", Type: "error", ID: "m1", Text: "hi", OriginID: "o1",
		OtherElem: []xmpp.XMLElement{
			{XMLName: xmppName(stanza.NSClient, "error"), Attr: nil,
				InnerXML: `<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text>`},
			{XMLName: xmppName(stanza.NSReceipts, "received"), Attr: []xmlAttr{{Name: xmppName("", "id"), Value: "r1"}}},
		}}
	m := convert(chat, "me@b/x").(*stanza.Message)
	if m.Error == nil || m.Error.Condition != "service-unavailable" || m.Error.Text != "no" {
		t.Errorf("error = %+v", m.Error)
	}
	if o, ok := stanza.Find(m.Ext, stanza.NSSID, "origin-id"); !ok || o.Attr("id") != "o1" {
		t.Errorf("origin-id lost: %+v", m.Ext)
	}
	if r, ok := stanza.Find(m.Ext, stanza.NSReceipts, "received"); !ok || r.Attr("id") != "r1" {
		t.Errorf("receipt lost: %+v", m.Ext)
	}
	slot := xmpp.Slot{ID: "s1", Put: xmpp.Put{Url: "https://h/p?a=1&b=2",
		Headers: []xmpp.Header{{Name: "Authorization", Value: "Bearer a&amp;b"}}}, Get: xmpp.Get{Url: "https://h/g"}}
	iq := convert(slot, "me@b/x").(*stanza.IQ)
	var s struct {
		Put struct {
			URL     string `xml:"url,attr"`
			Headers []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:",chardata"`
			} `xml:"header"`
		} `xml:"put"`
		Get struct {
			URL string `xml:"url,attr"`
		} `xml:"get"`
	}
	if err := iq.Query.Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Put.URL != slot.Put.Url || s.Get.URL != "https://h/g" || len(s.Put.Headers) != 1 || s.Put.Headers[0].Value != "Bearer a&b" {
		t.Errorf("slot = %+v", s)
	}
}

func TestFastStore(t *testing.T) {
	f := fastStore{path: t.TempDir() + "/fast.json"}
	f.put("a@b", fastToken{Token: "tok", Mechanism: "HT-SHA-256-EXPR", Expiry: time.Now().Add(time.Hour)})
	f.put("c@d", fastToken{Token: "old", Expiry: time.Now().Add(-time.Hour)})
	if got := f.get("a@b"); got.Token != "tok" {
		t.Errorf("token lost: %+v", got)
	}
	if got := f.get("c@d"); got.Token != "" {
		t.Errorf("expired token returned: %+v", got)
	}
	f.drop("a@b")
	if got := f.get("a@b"); got.Token != "" {
		t.Errorf("dropped token returned: %+v", got)
	}
	if st, err := os.Stat(f.path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v %v", st.Mode(), err)
	}
}
