package pep_test

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"

	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
)

// PublishMax asks for access model and max_items max in publish-options;
// a node that exists under another model is reconfigured (both fields)
// and the publish retried; items with other ids stay.
func TestPublishMax(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	if err := pep.Publish(ctx, s, "bundles", "1", note{Text: "one"}, pep.Options{Access: pep.Presence}); err != nil {
		t.Fatal(err)
	}
	if err := pep.PublishMax(ctx, s, "bundles", "2", note{Text: "two"}, pep.Open); err != nil {
		t.Fatal(err)
	}
	n := srv.Node("bundles")
	if n.Access != "open" || len(n.Items) != 2 {
		t.Fatalf("node %+v, want open with both items", n)
	}
	var publishes, configures int
	for _, x := range s.Sent() {
		if strings.Contains(x, "<publish-options>") && strings.Contains(x, "pubsub#max_items") {
			publishes++
		}
		if strings.Contains(x, "pubsub#owner") && strings.Contains(x, "pubsub#max_items") {
			configures++
		}
	}
	if publishes != 2 || configures != 1 {
		t.Fatalf("%d publishes and %d configures with max_items, want 2 and 1:\n%s", publishes, configures, strings.Join(s.Sent(), "\n"))
	}
}

// TestPublishMaxRefusedInOptions follows a service that refuses
// pubsub#max_items in publish-options (ejabberd 23.01) and keeps one item
// by default: the node is configured, or created, with the access model
// and max_items before the item is published with the access model
// alone, so the other ids' items stay.
func TestPublishMaxRefusedInOptions(t *testing.T) {
	tests := []struct {
		name     string
		existing *peptest.Node
		want     []string
		ids      []string // items after the publish
	}{
		{"new node", nil, []string{
			"publish n id=2 access=open", "configure n access=open max=max", "create n access=open max=max",
			"publish n id=2 access=open"}, []string{"2"}},
		{"node with one item and another model", &peptest.Node{Access: "presence", Max: 1, Items: []peptest.Item{{ID: "1"}}},
			[]string{"publish n id=2 access=open", "configure n access=open max=max", "publish n id=2 access=open"},
			[]string{"1", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := peptest.NewSession()
			srv.RefuseOptions, srv.DefaultMax = []string{"pubsub#max_items"}, 1
			if tt.existing != nil {
				srv.Nodes["n"] = tt.existing
			}
			if err := pep.PublishMax(context.Background(), s, "n", "2", note{Text: "two"}, pep.Open); err != nil {
				t.Fatal(err)
			}
			if got := srv.Requests(); !slices.Equal(got, tt.want) {
				t.Errorf("requests\n%q\nwant\n%q", got, tt.want)
			}
			n := srv.Node("n")
			var ids []string
			for _, it := range n.Items {
				ids = append(ids, it.ID)
			}
			if n.Access != "open" || n.Max != 0 || !slices.Equal(ids, tt.ids) {
				t.Fatalf("node %+v, want open, no limit, items %q", n, tt.ids)
			}
		})
	}
}

// A refusal to configure the node ends the publish: publishing without
// max_items could drop the other devices' items.
func TestPublishMaxConfigureRefused(t *testing.T) {
	s, srv := peptest.NewSession()
	srv.RefuseOptions, srv.DefaultMax = []string{"pubsub#max_items"}, 1
	srv.Nodes["n"] = &peptest.Node{Access: "open", Max: 1, Items: []peptest.Item{{ID: "1"}}}
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		b, _ := xml.Marshal(iq.Payload)
		if strings.Contains(string(b), pep.NSOwner) {
			e := &stanza.Error{Type: "modify", Condition: "not-acceptable"}
			return &stanza.IQ{Type: "error", Error: e}, e
		}
		return srv.OnIQ(iq)
	}
	err := pep.PublishMax(context.Background(), s, "n", "2", note{}, pep.Open)
	if !errors.Is(err, &stanza.Error{Condition: "not-acceptable"}) || !strings.Contains(err.Error(), "resource-constraint") {
		t.Fatalf("err = %v, want the refusal of both ways", err)
	}
	if n := srv.Node("n"); len(n.Items) != 1 || n.Items[0].ID != "1" {
		t.Fatalf("items %+v, want item 1 alone", n.Items)
	}
}

// Publish with extra settings (XEP-0402 bookmarks) takes the same way.
func TestPublishExtraRefusedInOptions(t *testing.T) {
	s, srv := peptest.NewSession()
	srv.RefuseOptions, srv.DefaultMax = []string{"pubsub#max_items"}, 1
	extra := []pep.Field{{Var: "pubsub#persist_items", Values: []string{"true"}}, pep.MaxItems}
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if err := pep.Publish(ctx, s, "n", id, note{}, pep.Options{Access: pep.Whitelist, Extra: extra}); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Node("n"); n.Access != "whitelist" || len(n.Items) != 2 {
		t.Fatalf("node %+v, want whitelist with both items", n)
	}
}

// Other refusals of a publish are not taken for refused options.
func TestPublishMaxOtherRefusal(t *testing.T) {
	s := xmpptest.New()
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		e := &stanza.Error{Type: "auth", Condition: "forbidden"}
		return &stanza.IQ{Type: "error", Error: e}, e
	}
	err := pep.PublishMax(context.Background(), s, "n", "1", note{}, pep.Open)
	if !errors.Is(err, &stanza.Error{Condition: "forbidden"}) || len(s.Sent()) != 1 {
		t.Fatalf("err = %v after %d requests, want forbidden after one", err, len(s.Sent()))
	}
}
