// Package jingle implements peer-to-peer file transfer with Jingle:
// XEP-0166 sessions (initiate, accept, info, terminate, transport-replace,
// -accept and -reject, content senders, reasons), XEP-0234 Jingle File
// Transfer (namespace :5, and :4 from older peers, with XEP-0300 hashes,
// the checksum and received session-info), the XEP-0260 SOCKS5 Bytestreams
// transport (direct and proxy candidates, candidate-used/-error, proxy
// activation) and the XEP-0261 In-Band Bytestreams transport as fallback.
//
// A Manager owns the Jingle IQ handler of one connection and routes
// incoming actions to sessions by peer and session id. SendFile drives a
// file offer as initiator; Incoming delivers offers, whose Session can be
// declined or received.
package jingle

// Namespaces.
const (
	NS        = "urn:xmpp:jingle:1"
	NSErrors  = "urn:xmpp:jingle:errors:1"
	NSFT      = "urn:xmpp:jingle:apps:file-transfer:5"
	NSFT4     = "urn:xmpp:jingle:apps:file-transfer:4"
	NSFTError = "urn:xmpp:jingle:apps:file-transfer:errors:0"
	NSS5B     = "urn:xmpp:jingle:transports:s5b:1"
	NSIBB     = "urn:xmpp:jingle:transports:ibb:1"
)

// Features are the disco#info features of a Jingle file-transfer endpoint.
func Features() []string {
	return []string{NS, NSFT, NSFT4, NSS5B, NSIBB}
}
