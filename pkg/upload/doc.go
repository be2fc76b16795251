// Package upload implements XEP-0363 HTTP File Upload.
//
// The flow is: find the upload service among the server's items
// (Discover, through a disco.Cache) and read its max-file-size; ask it for
// a slot (RequestSlot) naming the file, its size and content type; PUT the
// bytes to the slot's PUT URL with exactly the headers the slot allows
// (Put); share the GET URL. Uploader ties these together with retries on a
// fresh slot. File contents are streamed with a fixed-size buffer and
// hashed (SHA-256) on the way, so memory does not grow with the file.
package upload

// NS is the XEP-0363 namespace (version 0.3.0 and later, the one servers
// advertise today).
const NS = "urn:xmpp:http:upload:0"
