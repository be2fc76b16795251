// Package socks5 implements XEP-0065 SOCKS5 Bytestreams: the RFC 1928
// subset that XMPP uses (no authentication, CONNECT to a domain-name
// DST.ADDR that carries the stream's hash), both the connecting (target)
// and the listening (streamhost) side, the bytestreams IQ payloads, proxy
// discovery and proxy activation. The Jingle transport of XEP-0260 and the
// legacy stream method of XEP-0096 both build on it.
package socks5

// NS is the XEP-0065 namespace.
const NS = "http://jabber.org/protocol/bytestreams"
