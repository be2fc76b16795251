// Package ibb implements XEP-0047 In-Band Bytestreams over IQ stanzas: the
// last-resort stream that works wherever the XMPP connection works. Jingle
// uses it through XEP-0261 and legacy SI file transfer through XEP-0096.
package ibb

// NS is the XEP-0047 namespace.
const NS = "http://jabber.org/protocol/ibb"
