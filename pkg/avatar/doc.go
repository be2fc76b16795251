// Package avatar implements XEP-0084 User Avatar over PEP (XEP-0163):
// preparing an image (PNG or JPEG, detected by content, scaled down and
// re-encoded to fit the size guideline), publishing its data and metadata
// nodes under one access model, fetching a contact's avatar with its SHA-1
// verified, and disabling publication.
package avatar

// Node names (and payload namespaces) of XEP-0084.
const (
	NSData     = "urn:xmpp:avatar:data"
	NSMetadata = "urn:xmpp:avatar:metadata"
)
