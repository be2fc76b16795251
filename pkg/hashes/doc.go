// Package hashes implements XEP-0300 Use of Cryptographic Hash Functions
// in XMPP: the <hash/> element, the algorithm names, and the features that
// advertise them.
package hashes

// NS is the XEP-0300 namespace; NSv1 is the older one still sent by some
// Jingle File Transfer :4 peers.
const (
	NS   = "urn:xmpp:hashes:2"
	NSv1 = "urn:xmpp:hashes:1"
)
