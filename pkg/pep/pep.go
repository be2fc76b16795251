package pep

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// AccessModel is a node's pubsub#access_model: who may read its items.
type AccessModel string

// The access models of XEP-0060 §4.5 that PEP services offer.
const (
	Open      AccessModel = "open"      // anyone
	Presence  AccessModel = "presence"  // contacts subscribed to the owner's presence
	Roster    AccessModel = "roster"    // contacts in allowed roster groups
	Whitelist AccessModel = "whitelist" // only the owner and explicitly allowed JIDs
)

// ParseAccessModel validates a model given by the user.
func ParseAccessModel(s string) (AccessModel, error) {
	switch m := AccessModel(strings.ToLower(strings.TrimSpace(s))); m {
	case Open, Presence, Roster, Whitelist:
		return m, nil
	}
	return "", fmt.Errorf("invalid access model %q: want open, presence, roster or whitelist", s)
}

// Options say how Publish applies an access model.
type Options struct {
	// Access is the model the node must have; "" leaves the node as it is.
	Access AccessModel
	// NoPublishOptions says that the service does not support
	// publish-options: the node is then configured (or created with the
	// model) before the item is published.
	NoPublishOptions bool
	// Extra are further node settings applied like the access model, as
	// publish-options and, when those fail, as node configuration (e.g.
	// pubsub#max_items=max for XEP-0402 bookmarks).
	Extra []Field
}

// Item is a retrieved item: its id and its payload element.
type Item struct {
	ID      string
	Payload stanza.Element
}

// Wire types. Outgoing items carry any marshalable payload.

type pubsub struct {
	XMLName   xml.Name     `xml:"http://jabber.org/protocol/pubsub pubsub"`
	Create    *nodeRef     `xml:"create,omitempty"`
	Configure *configure   `xml:"configure,omitempty"`
	Publish   *publish     `xml:"publish,omitempty"`
	Options   *pubOptions  `xml:"publish-options,omitempty"`
	Items     *itemsQuery  `xml:"items,omitempty"`
	Retract   *retractElem `xml:"retract,omitempty"`
}

type owner struct {
	XMLName   xml.Name   `xml:"http://jabber.org/protocol/pubsub#owner pubsub"`
	Configure *configure `xml:"configure"`
}

type nodeRef struct {
	Node string `xml:"node,attr"`
}

type configure struct {
	Node string `xml:"node,attr,omitempty"`
	Form *Form  `xml:"jabber:x:data x,omitempty"`
}

type publish struct {
	Node string    `xml:"node,attr"`
	Item []outItem `xml:"item"`
}

type outItem struct {
	ID      string `xml:"id,attr,omitempty"`
	Payload any
}

type pubOptions struct {
	Form *Form `xml:"jabber:x:data x"`
}

type itemsQuery struct {
	Node     string    `xml:"node,attr"`
	MaxItems int       `xml:"max_items,attr,omitempty"`
	Item     []outItem `xml:"item"`
}

type retractElem struct {
	Node   string    `xml:"node,attr"`
	Notify bool      `xml:"notify,attr,omitempty"`
	Item   []outItem `xml:"item"`
}

// itemsResult is the <pubsub><items> of a retrieval result.
type itemsResult struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/pubsub pubsub"`
	Items   struct {
		Node string `xml:"node,attr"`
		Item []struct {
			ID      string           `xml:"id,attr"`
			Payload []stanza.Element `xml:",any"`
		} `xml:"item"`
	} `xml:"items"`
}

type ownerResult struct {
	XMLName   xml.Name `xml:"http://jabber.org/protocol/pubsub#owner pubsub"`
	Configure struct {
		Node string `xml:"node,attr"`
		Form Form   `xml:"jabber:x:data x"`
	} `xml:"configure"`
}

// Publish stores payload as item id on the account's node, creating the
// node if needed, under the access model o.Access. A node that exists with
// another model (publish-options answered with precondition-not-met, or
// with a bare conflict as Prosody 0.12 is reported to do) is reconfigured
// to the model and the publish retried once: the item is never published
// under a model other than the one asked for. A service that refuses the
// extra settings in publish-options (ejabberd 23.01 knows no
// pubsub#max_items there) gets them as node configuration, applied before
// the item is published, which then carries the access model alone.
func Publish(ctx context.Context, s conn.Session, node, id string, payload any, o Options) error {
	if o.Access == "" {
		return wrap("publish to", node, publishOnce(ctx, s, node, id, payload, "", nil))
	}
	if o.NoPublishOptions {
		if err := EnsureAccess(ctx, s, node, o.Access); err != nil {
			return err
		}
		if len(o.Extra) > 0 {
			if err := configureNode(ctx, s, node, o.Access, o.Extra); err != nil {
				return err
			}
		}
		return wrap("publish to", node, publishOnce(ctx, s, node, id, payload, "", nil))
	}
	err := publishOnce(ctx, s, node, id, payload, o.Access, o.Extra)
	if len(o.Extra) > 0 && isOptionsRefused(err) {
		return publishConfigured(ctx, s, node, id, payload, o, err)
	}
	if !IsPreconditionFailure(err) {
		return wrap("publish to", node, err)
	}
	if err := configureNode(ctx, s, node, o.Access, o.Extra); err != nil {
		return fmt.Errorf("node %s has another access model and could not be changed to %s: %w", node, o.Access, err)
	}
	return wrap("publish to", node, publishOnce(ctx, s, node, id, payload, o.Access, o.Extra))
}

func publishOnce(ctx context.Context, s conn.Session, node, id string, payload any, access AccessModel, extra []Field) error {
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: publishRequest(node, id, payload, access, extra)})
	return err
}

// configureNode sets the access model and the extra settings of the
// account's existing node.
func configureNode(ctx context.Context, s conn.Session, node string, m AccessModel, extra []Field) error {
	f := submitForm(NSConfig, "pubsub#access_model", string(m))
	f.Fields = append(f.Fields, extra...)
	q := owner{Configure: &configure{Node: node, Form: f}}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: q})
	return wrap("configure", node, err)
}

// IsPreconditionFailure reports whether err is the refusal of a publish
// whose publish-options do not match the node's configuration.
func IsPreconditionFailure(err error) bool {
	var se *stanza.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Condition == PreconditionNotMet || se.Condition == stanza.Conflict
}

// IsNotFound reports whether err says that the node or item does not
// exist.
func IsNotFound(err error) bool {
	return errors.Is(err, &stanza.Error{Condition: stanza.ItemNotFound})
}

// Items retrieves items of node from jid's PEP service ("" = the
// account's own): the ones with the given ids, else the newest max (0 =
// all the service returns).
func Items(ctx context.Context, s conn.Session, jid, node string, max int, ids ...string) ([]Item, error) {
	q := &itemsQuery{Node: node}
	if len(ids) == 0 {
		q.MaxItems = max
	}
	for _, id := range ids {
		q.Item = append(q.Item, outItem{ID: id})
	}
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: jid, Payload: pubsub{Items: q}})
	if err != nil {
		return nil, wrap("retrieve items of", node, err)
	}
	return ParseItems(resp.Query)
}

// ParseItems decodes the payload of an items result. Items without a
// payload (notifications of deletion, or servers that return ids only)
// keep a zero Payload.
func ParseItems(el stanza.Element) ([]Item, error) {
	if el.XMLName.Local == "" {
		return nil, nil // an empty result: no items
	}
	var r itemsResult
	if err := el.Decode(&r); err != nil {
		return nil, fmt.Errorf("parse pubsub items: %w", err)
	}
	out := make([]Item, 0, len(r.Items.Item))
	for _, it := range r.Items.Item {
		item := Item{ID: it.ID}
		if len(it.Payload) > 0 {
			item.Payload = it.Payload[0]
		}
		out = append(out, item)
	}
	return out, nil
}

// Retract removes items from the account's node and notifies subscribers.
func Retract(ctx context.Context, s conn.Session, node string, ids ...string) error {
	r := &retractElem{Node: node, Notify: true}
	for _, id := range ids {
		r.Item = append(r.Item, outItem{ID: id})
	}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: pubsub{Retract: r}})
	return wrap("retract from", node, err)
}

// Access returns the access model of the account's node. A node that does
// not exist gives an error for which IsNotFound is true.
func Access(ctx context.Context, s conn.Session, node string) (AccessModel, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, Payload: owner{Configure: &configure{Node: node}}})
	if err != nil {
		return "", wrap("read configuration of", node, err)
	}
	var r ownerResult
	if err := resp.Query.Decode(&r); err != nil {
		return "", fmt.Errorf("parse configuration of %s: %w", node, err)
	}
	m := r.Configure.Form.Value("pubsub#access_model")
	if m == "" {
		return "", fmt.Errorf("configuration of %s has no access model", node)
	}
	return AccessModel(m), nil
}

// SetAccess changes the access model of the account's existing node.
func SetAccess(ctx context.Context, s conn.Session, node string, m AccessModel) error {
	q := owner{Configure: &configure{Node: node, Form: submitForm(NSConfig, "pubsub#access_model", string(m))}}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: q})
	return wrap("set access model of", node, err)
}

// Create creates the account's node with the access model.
func Create(ctx context.Context, s conn.Session, node string, m AccessModel) error {
	q := pubsub{Create: &nodeRef{Node: node},
		Configure: &configure{Form: submitForm(NSConfig, "pubsub#access_model", string(m))}}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: q})
	return wrap("create node", node, err)
}

// EnsureAccess gives the account's node the access model, creating the
// node with it if it does not exist yet.
func EnsureAccess(ctx context.Context, s conn.Session, node string, m AccessModel) error {
	err := SetAccess(ctx, s, node, m)
	if IsNotFound(err) {
		return Create(ctx, s, node, m)
	}
	return err
}

// SetAccessIfExists changes the access model of the account's node when
// it exists; it reports whether the node existed.
func SetAccessIfExists(ctx context.Context, s conn.Session, node string, m AccessModel) (bool, error) {
	cur, err := Access(ctx, s, node)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if cur == m {
		return true, nil
	}
	return true, SetAccess(ctx, s, node, m)
}

func wrap(what, node string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", what, node, err)
}

// PublishRequest returns the <pubsub/> payload of a publish with
// publish-options access_model=m ("" for none), for callers and tests
// that need the request itself.
func PublishRequest(node, id string, payload any, m AccessModel) any {
	return publishRequest(node, id, payload, m, nil)
}

func publishRequest(node, id string, payload any, m AccessModel, extra []Field) any {
	q := pubsub{Publish: &publish{Node: node, Item: []outItem{{ID: id, Payload: payload}}}}
	if m != "" {
		f := submitForm(NSOptions, "pubsub#access_model", string(m))
		f.Fields = append(f.Fields, extra...)
		q.Options = &pubOptions{Form: f}
	}
	return q
}
