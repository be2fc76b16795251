package pep

import (
	"context"
	"errors"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// MaxItems is the setting of a node that keeps as many items as the
// service allows: what a node with one item per device (OMEMO 2's
// bundles) or per room (XEP-0402 bookmarks) needs.
var MaxItems = Field{Var: "pubsub#max_items", Values: []string{"max"}}

// PublishMax publishes payload as item id of the account's node under
// access model m, keeping as many items as the service allows
// (pubsub#max_items = max). Prosody 0.12 takes the setting in
// publish-options; ejabberd 23.01 refuses it there, and then the node is
// configured (or created) with it before the item is published: see
// Publish.
func PublishMax(ctx context.Context, s conn.Session, node, id string, payload any, m AccessModel) error {
	return Publish(ctx, s, node, id, payload, Options{Access: m, Extra: []Field{MaxItems}})
}

// isOptionsRefused reports whether err is a service's refusal of a
// publish-options form it does not understand as a whole (ejabberd 23.01:
// resource-constraint "Unknown field 'pubsub#max_items' of type
// publish-options"), as opposed to a mismatch with the node's
// configuration or a refusal of the publish itself.
func isOptionsRefused(err error) bool {
	var se *stanza.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Condition {
	case stanza.ResourceConstraint, stanza.BadRequest, stanza.NotAcceptable, stanza.FeatureNotImplemented:
		return true
	}
	return false
}

// publishConfigured applies the access model and the extra settings as
// node configuration, creating the node with them when it does not exist,
// and then publishes with publish-options holding the access model only,
// so the item is still never stored under another model. The node is
// configured before the item is published: a node created with the
// service's default max_items (1 on ejabberd) would otherwise drop the
// other items as this one lands.
func publishConfigured(ctx context.Context, s conn.Session, node, id string, payload any, o Options, refused error) error {
	err := configureNode(ctx, s, node, o.Access, o.Extra)
	if IsNotFound(err) {
		err = createNode(ctx, s, node, o.Access, o.Extra)
		if errors.Is(err, &stanza.Error{Condition: stanza.Conflict}) { // created meanwhile by another client
			err = configureNode(ctx, s, node, o.Access, o.Extra)
		}
	}
	if err != nil {
		return fmt.Errorf("node %s: the service refused %s in publish-options (%v) and as node configuration: %w",
			node, fieldNames(o.Extra), refused, err)
	}
	return wrap("publish to", node, publishOnce(ctx, s, node, id, payload, o.Access, nil))
}

// createNode creates the account's node with the access model and the
// extra settings.
func createNode(ctx context.Context, s conn.Session, node string, m AccessModel, extra []Field) error {
	f := submitForm(NSConfig, "pubsub#access_model", string(m))
	f.Fields = append(f.Fields, extra...)
	q := pubsub{Create: &nodeRef{Node: node}, Configure: &configure{Form: f}}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: q})
	return wrap("create node", node, err)
}

func fieldNames(fs []Field) string {
	var out string
	for i, f := range fs {
		if i > 0 {
			out += ", "
		}
		out += f.Var
	}
	return out
}
