// Package si implements legacy file transfer: XEP-0096 SI File Transfer
// over XEP-0095 Stream Initiation, with the stream method chosen by
// XEP-0020 feature negotiation among XEP-0065 SOCKS5 Bytestreams and
// XEP-0047 In-Band Bytestreams. It is used with peers that do not speak
// Jingle File Transfer.
package si

// Namespaces.
const (
	NS        = "http://jabber.org/protocol/si"
	NSProfile = "http://jabber.org/protocol/si/profile/file-transfer"
	NSFeature = "http://jabber.org/protocol/feature-neg"
	NSData    = "jabber:x:data"
)

// Features are the disco#info features of an SI file-transfer endpoint.
func Features() []string { return []string{NS, NSProfile} }
