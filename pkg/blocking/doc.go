// Package blocking implements XEP-0191 Blocking Command: reading the
// account's blocklist from the server, blocking and unblocking JIDs, and
// acknowledging the blocklist pushes the server sends to a session that
// has read the list.
package blocking

// NS is the XEP-0191 namespace, also the feature the server advertises.
const NS = "urn:xmpp:blocking"
