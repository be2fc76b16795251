package pep_test

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// stanzaID matches the random id of a request, left out of golden files.
var stanzaID = regexp.MustCompile(`^(<iq xmlns="jabber:client") id="[0-9a-f]+"`)

var update = flag.Bool("update", false, "rewrite golden files")

type note struct {
	XMLName xml.Name `xml:"urn:example:note note"`
	Text    string   `xml:",chardata"`
}

func TestParseAccessModel(t *testing.T) {
	tests := []struct {
		in   string
		want pep.AccessModel
		ok   bool
	}{
		{"open", pep.Open, true}, {" Presence ", pep.Presence, true}, {"roster", pep.Roster, true},
		{"whitelist", pep.Whitelist, true}, {"authorize", "", false}, {"", "", false}, {"friends", "", false},
	}
	for _, tt := range tests {
		got, err := pep.ParseAccessModel(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseAccessModel(%q) = %q, %v", tt.in, got, err)
		}
	}
}

// TestPublishAccess checks how an access model is applied: with
// publish-options, after a precondition failure (both of the forms servers
// send), and on a service without publish-options.
func TestPublishAccess(t *testing.T) {
	tests := []struct {
		name     string
		existing string // access of an existing node, "" = none
		bare     bool   // server answers a mismatch with a bare <conflict/>
		noOpts   bool   // server without publish-options
		want     []string
	}{
		{"new node", "", false, false, []string{"publish n id=1 access=open"}},
		{"matching node", "open", false, false, []string{"publish n id=1 access=open"}},
		{"precondition-not-met", "presence", false, false, []string{
			"publish n id=1 access=open", "configure n access=open", "publish n id=1 access=open"}},
		{"bare conflict", "presence", true, false, []string{
			"publish n id=1 access=open", "configure n access=open", "publish n id=1 access=open"}},
		{"no publish-options, new node", "", false, true, []string{
			"configure n access=open", "create n access=open", "publish n id=1 access="}},
		{"no publish-options, existing node", "whitelist", false, true, []string{
			"configure n access=open", "publish n id=1 access="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := peptest.NewSession()
			srv.BareConflict, srv.NoPublishOptions = tt.bare, tt.noOpts
			if tt.existing != "" {
				srv.Nodes["n"] = &peptest.Node{Access: tt.existing}
			}
			err := pep.Publish(context.Background(), s, "n", "1", note{Text: "hi"}, pep.Options{Access: pep.Open, NoPublishOptions: tt.noOpts})
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.Requests(); !slices.Equal(got, tt.want) {
				t.Errorf("requests\n%q\nwant\n%q", got, tt.want)
			}
			n := srv.Node("n")
			if n == nil || n.Access != "open" || len(n.Items) != 1 || n.Items[0].ID != "1" {
				t.Fatalf("node after publish: %+v", n)
			}
		})
	}
}

func TestPublishFailsWhenReconfigureIsRefused(t *testing.T) {
	s := xmpptest.New()
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		b, _ := xml.Marshal(iq.Payload)
		e := &stanza.Error{Type: "cancel", Condition: "precondition-not-met"}
		if strings.Contains(string(b), pep.NSOwner) {
			e = &stanza.Error{Type: "auth", Condition: "forbidden"}
		}
		return &stanza.IQ{Type: "error", Error: e}, e
	}
	err := pep.Publish(context.Background(), s, "n", "1", note{}, pep.Options{Access: pep.Whitelist})
	if !errors.Is(err, &stanza.Error{Condition: "forbidden"}) {
		t.Fatalf("err = %v, want the refusal to reconfigure", err)
	}
	if n := len(s.Sent()); n != 2 {
		t.Fatalf("%d requests: must not publish again, nor without the model", n)
	}
}

func TestItemsAndAccess(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	if _, err := pep.Access(ctx, s, "n"); !pep.IsNotFound(err) {
		t.Fatalf("Access of a missing node: %v", err)
	}
	if ok, err := pep.SetAccessIfExists(ctx, s, "n", pep.Open); ok || err != nil {
		t.Fatalf("SetAccessIfExists on a missing node: %v %v", ok, err)
	}
	for _, id := range []string{"a", "b"} {
		if err := pep.Publish(ctx, s, "n", id, note{Text: "<" + id + ">"}, pep.Options{Access: pep.Whitelist}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := pep.Items(ctx, s, "", "n", 0, "b")
	if err != nil || len(items) != 1 || items[0].ID != "b" {
		t.Fatalf("items %+v %v", items, err)
	}
	var n note
	if err := items[0].Payload.Decode(&n); err != nil || n.Text != "<b>" {
		t.Fatalf("payload %q %v", n.Text, err)
	}
	if m, err := pep.Access(ctx, s, "n"); m != pep.Whitelist || err != nil {
		t.Fatalf("Access = %q %v", m, err)
	}
	if err := pep.Retract(ctx, s, "n", "a"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Node("n"); len(got.Items) != 1 || got.Items[0].ID != "b" {
		t.Fatalf("after retract %+v", got.Items)
	}
}

// TestWireGolden pins the XML of the requests (publish with options,
// items by id, configure, create, retract).
func TestWireGolden(t *testing.T) {
	s, _ := peptest.NewSession()
	ctx := context.Background()
	_ = pep.Publish(ctx, s, "urn:example:note", "x&y", note{Text: "a <b>"}, pep.Options{Access: pep.Open})
	_, _ = pep.Items(ctx, s, "bob@example.org", "urn:example:note", 0, "x&y")
	_, _ = pep.Items(ctx, s, "", "urn:example:note", 1)
	_ = pep.SetAccess(ctx, s, "urn:example:note", pep.Presence)
	_ = pep.Create(ctx, s, "urn:example:new", pep.Whitelist)
	_ = pep.Retract(ctx, s, "urn:example:note", "x&y")
	var got []byte
	for _, x := range s.Sent() {
		got = append(got, stanzaID.ReplaceAllString(x, "$1")...)
		got = append(got, '\n')
	}
	golden.Check(t, "requests.golden.xml", got, *update)
}

func FuzzParseItems(f *testing.F) {
	f.Add([]byte(`<items node="n"><item id="a"><note xmlns="urn:example:note">x</note></item><item id="b"/></items>`))
	f.Add([]byte(`<items/>`))
	f.Add([]byte(`<item id="&amp;"><x xmlns="a"><y/></x></item>`))
	f.Fuzz(func(t *testing.T, inner []byte) {
		el := stanza.Element{XMLName: xml.Name{Space: pep.NS, Local: "pubsub"}, Inner: inner}
		items, err := pep.ParseItems(el)
		if err != nil {
			return
		}
		for _, it := range items {
			_, _ = xml.Marshal(it.Payload)
		}
	})
}
