package pep

import (
	"context"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// PublishMax publishes payload as item id of the account's node under
// access model m, keeping as many items as the service allows
// (pubsub#max_items = max, which Prosody 0.12 accepts in publish-options):
// what a node with one item per device, as OMEMO 2's bundles node, needs.
// A node configured otherwise (precondition-not-met) is reconfigured and
// the publish retried once, as Publish does.
func PublishMax(ctx context.Context, s conn.Session, node, id string, payload any, m AccessModel) error {
	err := publishMaxOnce(ctx, s, node, id, payload, m)
	if !IsPreconditionFailure(err) {
		return wrap("publish to", node, err)
	}
	q := owner{Configure: &configure{Node: node, Form: maxForm(NSConfig, m)}}
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: "set", Payload: q}); err != nil {
		return fmt.Errorf("node %s has another configuration and could not be changed to access model %s and max items max: %w",
			node, m, err)
	}
	return wrap("publish to", node, publishMaxOnce(ctx, s, node, id, payload, m))
}

func publishMaxOnce(ctx context.Context, s conn.Session, node, id string, payload any, m AccessModel) error {
	q := pubsub{Publish: &publish{Node: node, Item: []outItem{{ID: id, Payload: payload}}},
		Options: &pubOptions{Form: maxForm(NSOptions, m)}}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: "set", Payload: q})
	return err
}

func maxForm(formType string, m AccessModel) *Form {
	f := submitForm(formType, "pubsub#access_model", string(m))
	f.Fields = append(f.Fields, Field{Var: "pubsub#max_items", Values: []string{"max"}})
	return f
}
