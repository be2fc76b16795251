package conn

import (
	xmpp "github.com/xmppo/go-xmpp"
)

// lostStanza reports whether an error from go-xmpp's Recv cost one stanza
// only, so that the receive loop may go on (issue 14 defect 2: a
// stranger's avatar notification with an empty <item/> ended sessions).
//
// What go-xmpp v0.4.1 does (xmpp.go, Client.Recv and Client.next), and
// what this relies on:
//   - Errors while reading or decoding the stanza itself (the stream's XML,
//     the connection) come back with a zero Chat. The decoder may then be
//     left inside the element, and next() even returns with its nextMutex
//     still locked, so a later Recv would block for ever: these stay fatal.
//   - Errors raised after the whole stanza was decoded come from parsing
//     its content a second time (pubsub avatar metadata or data, disco
//     items or info results, upload slots, pubsub (un)subscriptions and
//     items); they come back with a zero value of the type being built,
//     never a Chat. The decoder is then at the next top-level element and
//     the stream is intact.
//
// TestLostStanzaAssumptions fails if a new go-xmpp changes either half.
func lostStanza(v any, err error) bool {
	if err == nil {
		return false
	}
	switch v.(type) {
	case xmpp.AvatarMetadata, xmpp.AvatarData, xmpp.DiscoItems, []xmpp.DiscoItem, xmpp.DiscoResult,
		xmpp.Slot, xmpp.PubsubSubscription, xmpp.PubsubUnsubscription, xmpp.PubsubItems:
		return true
	}
	return false
}
