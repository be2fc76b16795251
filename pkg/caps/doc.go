// Package caps implements XEP-0115 Entity Capabilities and XEP-0390 Entity
// Capabilities 2.0: the verification string and hashes of a disco#info
// result, the <c/> elements carried in presence and stream features, and a
// cache of verified results in the data directory keyed by hash, so that a
// capability seen before costs no disco#info query.
//
// A received hash is trusted only after the disco#info it names was
// fetched and hashed here to the same value; a mismatch is never cached.
package caps

// Namespaces of XEP-0115, XEP-0390 and XEP-0300.
const (
	NS       = "http://jabber.org/protocol/caps"
	NS2      = "urn:xmpp:caps"
	NSHashes = "urn:xmpp:hashes:2"
)
