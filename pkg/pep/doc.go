// Package pep implements the parts of XEP-0060 Publish-Subscribe that a
// client needs on its own account's Personal Eventing Protocol service
// (XEP-0163): publishing an item with publish-options, retrieving items,
// reading and changing a node's access model, and retracting items.
//
// Access models are applied so that an item is never readable under a
// model other than the one asked for: with publish-options the server
// checks the node's configuration before it stores the item; a node that
// exists with another model is reconfigured first and the publish retried;
// a server without publish-options gets its node created or configured
// before the item is published.
package pep

// Namespaces of XEP-0060.
const (
	NS         = "http://jabber.org/protocol/pubsub"
	NSOwner    = "http://jabber.org/protocol/pubsub#owner"
	NSErrors   = "http://jabber.org/protocol/pubsub#errors"
	NSConfig   = "http://jabber.org/protocol/pubsub#node_config"
	NSOptions  = "http://jabber.org/protocol/pubsub#publish-options"
	FeaturePEP = "http://jabber.org/protocol/pubsub#publish" // with identity pubsub/pep on the account
	// FeatureOptions is advertised by services that honour publish-options.
	FeatureOptions = NSOptions
)
