package pep

import "github.com/xmppctl/xmppctl/pkg/stanza"

// Application-specific error conditions of XEP-0060 (namespace
// http://jabber.org/protocol/pubsub#errors) that this package acts on.
// go-xmpp reports the last condition child of an <error/>, so these arrive
// in stanza.Error.Condition in place of the RFC 6120 one.
const (
	PreconditionNotMet           stanza.Condition = "precondition-not-met"
	PresenceSubscriptionRequired stanza.Condition = "presence-subscription-required"
	NotInRosterGroup             stanza.Condition = "not-in-roster-group"
)
