package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	responder "github.com/xmppctl/xmppctl/pkg/online"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// discoJSON is the --json output of disco query.
type discoJSON struct {
	JID        string           `json:"jid"`
	Node       string           `json:"node"`
	Identities []disco.Identity `json:"identities"`
	Features   []string         `json:"features"`
	Forms      []discoForm      `json:"forms"`
	Items      []disco.Item     `json:"items"`
}

type discoForm struct {
	Type     string              `json:"type"`
	FormType string              `json:"FORM_TYPE"`
	Fields   map[string][]string `json:"fields"`
}

func discoQuery(t *testing.T, user string, args ...string) (discoJSON, testserver.Result) {
	t.Helper()
	res := xmppctl(t, user, "", append([]string{"--json", "disco", "query"}, args...)...)
	var out discoJSON
	if res.Code == 0 {
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			t.Fatalf("parse %q: %v", res.Stdout, err)
		}
	}
	return out, res
}

func (d discoJSON) info() *disco.Info {
	return &disco.Info{JID: d.JID, Identities: d.Identities, Features: d.Features}
}

func TestDiscoQueryServerUsesVerifiedCaps(t *testing.T) {
	alice := srv.NewUser(t, "alice")
	data := t.TempDir()
	var stderr []string
	for i := 0; i < 2; i++ {
		res := xmppctl(t, alice, "", "-v", "--data-dir", data, "--json", "disco", "query")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		var out discoJSON
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			t.Fatal(err)
		}
		info := out.info()
		if out.JID != srv.Domain || !info.HasIdentity("server", "im") || !info.HasFeature("urn:xmpp:carbons:2") ||
			!info.HasFeature("urn:xmpp:blocking") {
			t.Fatalf("run %d: server info %+v", i, out)
		}
		stderr = append(stderr, res.Stderr)
	}
	// First run: queried and checked against the stream features' ver;
	// second run: answered from the data dir without a query.
	if !strings.Contains(stderr[0], ": verified") || !strings.Contains(stderr[1], ": cached") {
		t.Errorf("caps status not verified then cached:\n%s\n---\n%s", stderr[0], stderr[1])
	}
}

func TestDiscoQueryUploadComponent(t *testing.T) {
	out, res := discoQuery(t, srv.NewUser(t, "alice"), srv.UploadHost)
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	// ejabberd adds forms for the older upload namespaces and an empty
	// serverinfo form.
	var f discoForm
	for _, x := range out.Forms {
		if x.FormType == "urn:xmpp:http:upload:0" {
			f = x
		}
	}
	if !out.info().HasIdentity("store", "file") || (srv.Kind == testserver.Prosody && len(out.Forms) != 1) {
		t.Fatalf("upload info %+v", out)
	}
	if f.FormType != "urn:xmpp:http:upload:0" || len(f.Fields["max-file-size"]) != 1 || f.Fields["max-file-size"][0] != "268435456" {
		t.Errorf("upload form %+v", f)
	}
	human := xmppctl(t, srv.NewUser(t, "alice"), "", "disco", "query", srv.UploadHost)
	if !strings.Contains(human.Stdout, "max-file-size: 268435456") || !strings.Contains(human.Stdout, "XEP-0363 HTTP File Upload") {
		t.Errorf("human output:\n%s", human.Stdout)
	}
}

func TestDiscoQueryItems(t *testing.T) {
	out, res := discoQuery(t, srv.NewUser(t, "alice"), "--items")
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	got := map[string]bool{}
	for _, it := range out.Items {
		got[it.JID] = true
	}
	for _, want := range []string{srv.UploadHost, srv.MUCHost, srv.ProxyHost} {
		if !got[want] {
			t.Errorf("items %v lack %s", out.Items, want)
		}
	}
}

// The account's own bare JID: the server answers for it (PEP, MAM). A
// stranger's bare JID answers only to subscribed contacts (see the remote
// errors test).
func TestDiscoQueryBareJID(t *testing.T) {
	alice := srv.NewUser(t, "alice")
	out, res := discoQuery(t, alice, srv.JID(alice))
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	info := out.info()
	if out.JID != srv.JID(alice) || !info.HasIdentity("account", "registered") || !info.HasIdentity("pubsub", "pep") ||
		!info.HasFeature("urn:xmpp:mam:2") {
		t.Errorf("bare JID info %+v", out)
	}
}

// bob is online with the responder: alice's xmppctl sees bob's client
// identity and features, and they hash to the caps bob advertises.
func TestDiscoQueryFullJIDOfOnlineClient(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	s := srv.Dial(t, bob)
	r, err := responder.New(responder.Options{Bot: true, Features: []string{"urn:xmpp:jingle:1"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Register(s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Announce(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	out, res := discoQuery(t, alice, s.JID())
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	info := out.info()
	if out.JID != s.JID() || !info.HasIdentity("client", "bot") || !info.HasFeature("urn:xmpp:jingle:1") ||
		!info.HasFeature("urn:xmpp:time") || info.HasFeature("jabber:iq:version") {
		t.Fatalf("full JID info %+v", out)
	}
	if err := r.Caps().Verify(info); err != nil {
		t.Errorf("what alice received does not match bob's XEP-0115 caps: %v", err)
	}
	if err := r.Caps2().Verify(info); err != nil {
		t.Errorf("what alice received does not match bob's XEP-0390 caps: %v", err)
	}
	// The caps node answers too (a caps-driven lookup from a cold cache).
	n, res := discoQuery(t, alice, "--node", r.Caps().QueryNode(), s.JID())
	if res.Code != 0 || r.Caps().Verify(n.info()) != nil {
		t.Errorf("caps node query: exit %d %s %+v", res.Code, res.Stderr, n)
	}

	// From a second session: time answers, an unknown IQ is refused.
	as := srv.Dial(t, alice)
	resp, err := as.SendIQ(ctx, stanza.IQ{Type: "get", To: s.JID(), Payload: struct {
		XMLName xml.Name `xml:"urn:xmpp:time time"`
	}{}})
	if err != nil || !strings.Contains(string(resp.Query.Inner), "<utc>") {
		t.Errorf("time: %v %+v", err, resp)
	}
	_, err = as.SendIQ(ctx, stanza.IQ{Type: "get", To: s.JID(), Payload: struct {
		XMLName xml.Name `xml:"urn:example:nothing query"`
	}{}})
	if !errors.Is(err, &stanza.Error{Condition: "service-unavailable"}) {
		t.Errorf("unknown IQ: %v, want service-unavailable", err)
	}
}

func TestDiscoQueryRemoteErrors(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	tests := []struct {
		name string
		args []string
		cond string
		ej   string // ejabberd's answer where it differs; "-": it has none
	}{
		{"unknown node", []string{"--node", "urn:example:nope", srv.Domain}, "item-not-found", ""},
		{"offline full JID", []string{srv.JID(bob) + "/gone"}, "service-unavailable", ""},
		// RFC 6121 §8.5.1 allows either for a contact without subscription.
		{"unsubscribed bare JID", []string{srv.JID(bob)}, "service-unavailable", "subscription-required"},
		// ejabberd lists no items, without an error, for any node of a component.
		{"unknown items node", []string{"--items", "--node", "urn:example:nope", srv.UploadHost}, "item-not-found", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if srv != nil && srv.Kind == testserver.Ejabberd && tt.ej != "" {
				if tt.ej == "-" {
					t.Skip("ejabberd answers an empty item list for an unknown node of a component")
				}
				tt.cond = tt.ej
			}
			_, res := discoQuery(t, alice, tt.args...)
			if res.Code != 5 || !strings.Contains(res.Stderr, tt.cond) {
				t.Errorf("exit %d, stderr %q; want 5 with %s", res.Code, res.Stderr, tt.cond)
			}
		})
	}
	res := xmppctl(t, alice, "", "disco", "query", "not a jid@@")
	if res.Code != 2 {
		t.Errorf("invalid JID: exit %d, want 2", res.Code)
	}
}

// The caps ver in Prosody's stream features hashes from its disco#info.
func TestServerCapsVerified(t *testing.T) {
	testserver.Require(t, srv)
	s := srv.Dial(t, srv.NewUser(t, "alice"))
	li, ok := s.(conn.LoginInfo)
	if !ok {
		t.Fatal("session does not report its login")
	}
	var c1 *caps.Caps
	for _, f := range li.StreamFeatures() {
		if c, _, err := caps.FromFeatures(f); err == nil && c != nil {
			c1 = c
		}
	}
	if c1 == nil {
		t.Fatal("no caps in the server's stream features")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := disco.GetInfo(ctx, s, srv.Domain, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Verify(info); err != nil {
		t.Fatal(err)
	}
	// The cache's service lookups find the components.
	up, err := disco.NewCache(s).ServiceWithFeature(ctx, "urn:xmpp:http:upload:0")
	if err != nil || up.JID != srv.UploadHost {
		t.Errorf("upload service: %+v, %v", up, err)
	}
}
