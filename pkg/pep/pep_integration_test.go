package pep_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var srv *testserver.Server

func TestMain(m *testing.M) { testserver.Main(m, &srv) }

// TestPublishAccessOnServer runs the access-model rules against the real
// server: publish-options create the node with the model, a mismatch is
// repaired by reconfiguring, and a stranger's access follows the model.
func TestPublishAccessOnServer(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "pepa"), srv.NewUser(t, "pepb")
	sa, sb := srv.Dial(t, alice), srv.Dial(t, bob)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const node = "urn:xmppctl:test:note"

	if err := pep.Publish(ctx, sa, node, "1", note{Text: "one"}, pep.Options{Access: pep.Open}); err != nil {
		t.Fatal(err)
	}
	if m, err := pep.Access(ctx, sa, node); m != pep.Open || err != nil {
		t.Fatalf("access after publish-options open: %q %v", m, err)
	}
	items, err := pep.Items(ctx, sb, srv.JID(alice), node, 1)
	if err != nil || len(items) != 1 || items[0].ID != "1" {
		t.Fatalf("stranger reading an open node: %+v %v", items, err)
	}

	// The raw server answer to a mismatching publish-options.
	err = pep.Publish(ctx, sa, node, "2", note{Text: "two"}, pep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var se *stanza.Error
	rawErr := publishRaw(ctx, t, sa, node)
	if !errors.As(rawErr, &se) || !pep.IsPreconditionFailure(rawErr) {
		t.Fatalf("mismatching publish-options gave %v, want a precondition failure", rawErr)
	}

	if err := pep.Publish(ctx, sa, node, "3", note{Text: "three"}, pep.Options{Access: pep.Whitelist}); err != nil {
		t.Fatal(err)
	}
	if m, err := pep.Access(ctx, sa, node); m != pep.Whitelist || err != nil {
		t.Fatalf("access after republish as whitelist: %q %v", m, err)
	}
	// Prosody says forbidden; ejabberd not-allowed with closed-node
	// (XEP-0060 §6.5.9.3).
	if _, err := pep.Items(ctx, sb, srv.JID(alice), node, 1); !errors.Is(err, &stanza.Error{Condition: "forbidden"}) &&
		!errors.Is(err, &stanza.Error{Condition: "not-allowed"}) {
		t.Fatalf("stranger reading a whitelist node: %v, want forbidden or not-allowed", err)
	}

	// Prosody 0.12 refuses the roster model outright (logged only).
	err = pep.Publish(ctx, sa, "urn:xmppctl:test:roster", "1", note{}, pep.Options{Access: pep.Roster})
	if !errors.Is(err, &stanza.Error{Condition: "not-acceptable"}) {
		t.Logf("roster model: %v", err)
	}
}

// publishRaw publishes with publish-options presence on a node that has
// another model, without the repair, to see the server's answer.
func publishRaw(ctx context.Context, t *testing.T, s interface {
	SendIQ(context.Context, stanza.IQ) (*stanza.IQ, error)
}, node string) error {
	t.Helper()
	_, err := s.SendIQ(ctx, stanza.IQ{Type: "set", Payload: pep.PublishRequest(node, "x", note{}, pep.Presence)})
	return err
}

// TestPublishMaxOnServer checks that a node published with PublishMax
// keeps one item per id on the real server, whether the server takes
// max_items in publish-options (Prosody) or only as node configuration
// (ejabberd 23.01), also when the node was first created with the
// server's default max_items, and that the access model holds.
func TestPublishMaxOnServer(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "pepmaxa"), srv.NewUser(t, "pepmaxb")
	sa, sb := srv.Dial(t, alice), srv.Dial(t, bob)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tt := range []struct {
		node  string
		first func(id string) error
	}{
		{"urn:xmppctl:test:max-new", func(id string) error {
			return pep.PublishMax(ctx, sa, "urn:xmppctl:test:max-new", id, note{Text: id}, pep.Open)
		}},
		// A node created by a plain publish has the server's defaults
		// (ejabberd: one item) and another access model.
		{"urn:xmppctl:test:max-old", func(id string) error {
			return pep.Publish(ctx, sa, "urn:xmppctl:test:max-old", id, note{Text: id}, pep.Options{Access: pep.Presence})
		}},
	} {
		t.Run(tt.node, func(t *testing.T) {
			if err := tt.first("1"); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"2", "3", "2"} {
				if err := pep.PublishMax(ctx, sa, tt.node, id, note{Text: id}, pep.Open); err != nil {
					t.Fatal(err)
				}
			}
			items, err := pep.Items(ctx, sa, "", tt.node, 0)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, it := range items {
				ids = append(ids, it.ID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, []string{"1", "2", "3"}) {
				t.Fatalf("items %q, want 1 2 3: one per id", ids)
			}
			if m, err := pep.Access(ctx, sa, tt.node); m != pep.Open || err != nil {
				t.Fatalf("access %q %v, want open", m, err)
			}
			if items, err := pep.Items(ctx, sb, srv.JID(alice), tt.node, 0); err != nil || len(items) != 3 {
				t.Fatalf("stranger reading the open node: %d items, %v", len(items), err)
			}
		})
	}
}
