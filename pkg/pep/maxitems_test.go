package pep_test

import (
	"context"
	"strings"
	"testing"

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
