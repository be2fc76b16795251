// Package omemo implements OMEMO end-to-end encryption (XEP-0384) for
// xmppctl: the account's device identity and keys, device lists and
// bundles over PEP (XEP-0163), sessions, encryption of a message to every
// trusted device of its recipients and of the account's own other
// devices, decryption, and the trust store (blind trust before
// verification, or manual).
//
// OMEMO 0.3 (namespace eu.siacs.conversations.axolotl, what Conversations,
// Dino, Gajim, Monal and Profanity speak) is built on go.mau.fi/libsignal
// (X3DH, double ratchet, the version 3 wire format); the payload is
// AES-128-GCM with the 16-byte key and the 16-byte tag sealed per device.
// All state lives in the local store (pkg/store, tables omemo_*), and every
// step that changes it (a ratchet step, a used prekey) is one SQLite
// transaction, committed before the stanza that depends on it is sent.
//
// # Where OMEMO 2 plugs in
//
// A protocol version is a Backend (backend.go). The Client holds one per
// version, keyed by Version (the namespace), and
//
//   - Publish calls every backend's PublishDevice and PublishBundle with the
//     account's shared Identity (one device id and identity key for all
//     versions, as python-omemo and Conversations do; the Identity gives
//     the private Curve25519 key, from which OMEMO 2 derives its Ed25519
//     form);
//   - Seal fetches each recipient's devices from every backend
//     (FetchDevices), records them in omemo_devices with their Version, and
//     encrypts to each device in the newest version it publishes: devices
//     are grouped by backend and each backend's Encrypt builds its own
//     <encrypted/> element; the message carries one element per backend
//     used, and one EME hint per namespace;
//   - Decrypt dispatches on the namespace of the <encrypted/> element found
//     in the message to the backend whose Version matches; the backend
//     returns a Decrypted (plaintext, sender device and identity key, and
//     whether a prekey was consumed, in which case the Client republishes
//     that backend's bundle and asks it for an empty KeyTransport message).
//
// pkg/omemo2 implements Backend for urn:xmpp:omemo:2 and registers it with
// Client.AddBackend; it keeps its prekeys and sessions in the same tables
// under its own version column, through the *sql.Tx it is given.
package omemo

// NS is the namespace of OMEMO 0.3.
const NS = "eu.siacs.conversations.axolotl"

// Nodes of OMEMO 0.3 on the account's PEP service.
const (
	NodeDevices       = NS + ".devicelist"
	nodeBundlesPrefix = NS + ".bundles:"
)

// NSEME is XEP-0380 Explicit Message Encryption.
const NSEME = "urn:xmpp:eme:0"

// NSHints is XEP-0334 Message Processing Hints.
const NSHints = "urn:xmpp:hints"

// FallbackBody is the body clients without OMEMO show: never the
// plaintext.
const FallbackBody = "This message is OMEMO encrypted (XEP-0384); your client cannot decrypt it. " +
	"Use an OMEMO-capable client (Conversations, Dino, Gajim, Monal, Profanity) to read it."
