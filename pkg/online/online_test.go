package online

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/golden"
	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

func request(t *testing.T, s *xmpptest.Session, typ stanza.IQType, space, local string, attrs ...xml.Attr) (any, error) {
	t.Helper()
	h := s.Handler(space, local)
	if h == nil {
		t.Fatalf("no handler for %s %s", space, local)
	}
	iq := &stanza.IQ{ID: "q1", From: "peer@example.org/x", Type: typ,
		Query: stanza.Element{XMLName: xml.Name{Space: space, Local: local}, Attrs: attrs}}
	return h(context.Background(), iq)
}

// reparse marshals a handler's payload the way the session sends it and
// reads it back as disco#info.
func reparse(t *testing.T, payload any) *disco.Info {
	t.Helper()
	b, err := xml.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	var el stanza.Element
	if err := xml.Unmarshal(b, &el); err != nil {
		t.Fatal(err)
	}
	info, err := disco.ParseInfo("me", el)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestDiscoInfoMatchesAdvertisedCaps(t *testing.T) {
	r, err := New(Options{Bot: true, Features: []string{"urn:xmpp:jingle:1", "urn:xmpp:jingle:1"}})
	if err != nil {
		t.Fatal(err)
	}
	s := xmpptest.New()
	r.Register(s)
	c1, c2 := r.Caps(), r.Caps2()
	for _, node := range []string{"", c1.QueryNode(), c2.Hashes[0].QueryNode()} {
		var attrs []xml.Attr
		if node != "" {
			attrs = []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}
		}
		payload, err := request(t, s, "get", disco.NSInfo, "query", attrs...)
		if err != nil {
			t.Fatalf("node %q: %v", node, err)
		}
		info := reparse(t, payload)
		if info.Node != node {
			t.Errorf("node %q answered as %q", node, info.Node)
		}
		if err := c1.Verify(info); err != nil {
			t.Errorf("node %q: XEP-0115: %v", node, err)
		}
		if err := c2.Verify(info); err != nil {
			t.Errorf("node %q: XEP-0390: %v", node, err)
		}
		if !info.HasIdentity("client", "bot") || !info.HasFeature("urn:xmpp:jingle:1") || !info.HasFeature(stanza.NSPing) {
			t.Errorf("info = %+v", info)
		}
		if info.HasFeature(NSVersion) {
			t.Error("software version advertised without opt-in")
		}
	}
	_, err = request(t, s, "get", disco.NSInfo, "query", xml.Attr{Name: xml.Name{Local: "node"}, Value: "other"})
	if !errors.Is(err, &stanza.Error{Condition: "item-not-found"}) {
		t.Errorf("unknown node: %v", err)
	}
}

func TestVersionIsOptIn(t *testing.T) {
	tests := []struct {
		name    string
		version *SoftwareVersion
		want    string
		wantErr stanza.Condition
	}{
		{"private by default", nil, "", "service-unavailable"},
		{"opted in", &SoftwareVersion{Name: "xmppctl", Version: "1.2.3"},
			`<query xmlns="jabber:iq:version"><name>xmppctl</name><version>1.2.3</version></query>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(Options{Version: tt.version})
			if err != nil {
				t.Fatal(err)
			}
			s := xmpptest.New()
			r.Register(s)
			payload, err := request(t, s, "get", NSVersion, "query")
			if tt.wantErr != "" {
				if !errors.Is(err, &stanza.Error{Condition: tt.wantErr}) {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			b, _ := xml.Marshal(payload)
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
			if !r.Info().HasFeature(NSVersion) {
				t.Error("feature not advertised")
			}
		})
	}
}

func TestTimeAndPing(t *testing.T) {
	zone := time.FixedZone("x", -5*3600)
	r, err := New(Options{Now: func() time.Time { return time.Date(2006, 12, 19, 12, 58, 35, 0, zone) }})
	if err != nil {
		t.Fatal(err)
	}
	s := xmpptest.New()
	r.Register(s)
	payload, err := request(t, s, "get", NSTime, "time")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := xml.Marshal(payload)
	if want := `<time xmlns="urn:xmpp:time"><tzo>-05:00</tzo><utc>2006-12-19T17:58:35.000Z</utc></time>`; string(b) != want {
		t.Errorf("time = %s, want %s", b, want)
	}
	if p, err := request(t, s, "get", stanza.NSPing, "ping"); err != nil || p != nil {
		t.Errorf("ping = %v, %v", p, err)
	}
	if _, err := request(t, s, "set", NSTime, "time"); !errors.Is(err, &stanza.Error{Condition: "bad-request"}) {
		t.Errorf("time set: %v", err)
	}
}

func TestPresenceGolden(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := xmpptest.New()
	if err := r.Announce(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	got := []byte(s.Sent()[0])
	golden.Check(t, "presence.golden.xml", got, *update)
	var p stanza.Presence
	if err := xml.Unmarshal(got, &p); err != nil {
		t.Fatal(err)
	}
	c1, c2 := caps.Find(p.Ext)
	if c1 == nil || c2 == nil || c1.Verify(r.Info()) != nil || c2.Verify(r.Info()) != nil {
		t.Errorf("presence caps do not verify: %+v %+v", c1, c2)
	}
}
