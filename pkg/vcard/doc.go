// Package vcard implements the user profile: XEP-0292 vCard4 over PEP
// (the current profile format), the legacy XEP-0054 vcard-temp with the
// XEP-0153 avatar hash for servers that do not convert PEP avatars
// themselves (XEP-0398), and the profile visibility setting that gives the
// avatar, nickname and vCard4 nodes consistent access models.
package vcard

// Namespaces and nodes.
const (
	NS4   = "urn:ietf:params:xml:ns:vcard-4.0" // vCard4 XML (RFC 6351)
	Node4 = "urn:xmpp:vcard4"                  // XEP-0292 PEP node

	NSTemp   = "vcard-temp"          // XEP-0054
	NSUpdate = "vcard-temp:x:update" // XEP-0153 presence element
	// FeatureConversion (XEP-0398) means the server mirrors PEP avatars
	// into vcard-temp itself; clients must not publish there too.
	FeatureConversion = "urn:xmpp:pep-vcard-conversion:0"
)
