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
// A protocol version is a Backend (backend.go): Version (its namespace),
// FetchDevices, PublishDevices, FetchBundle (returning a RemoteBundle that
// shows its identity key), EnsureKeys, OwnBundle, PublishBundle,
// HasSession, Encrypt (nil plaintext = an empty key transport message) and
// Decrypt (returning a Decrypted). Legacy (legacy.go) is OMEMO 0.3's. The
// Client holds the backends newest first and does everything common:
//
//   - Open creates the account's Identity once (one device id and one
//     Curve25519 identity key for all versions, as python-omemo and
//     Conversations do; OMEMO 2 derives its Ed25519 form from
//     Identity.Private) and calls every backend's EnsureKeys;
//   - Publish reads each backend's device list, adds our id if missing
//     (read-modify-write) and publishes OwnBundle when EnsureKeys changed it;
//   - Seal/SealGroup fetch every backend's device list of each recipient,
//     record the devices (omemo_devices, keyed by version) with their
//     trust, pick for each device id the newest backend that lists it,
//     fetch bundles for devices without a session, and call each backend's
//     Encrypt once over its devices, in one transaction; the message carries
//     one <encrypted/> element and one EME hint per backend used;
//   - Decrypt finds the <encrypted/> element whose namespace is a backend's
//     Version and calls that backend's Decrypt in a transaction; it records
//     the sender device and trust, and when Decrypted.PreKeyUsed is set it
//     calls EnsureKeys, republishes the bundle and sends the backend's empty
//     message to complete the session.
//
// Twomemo (twomemo.go) implements Backend for urn:xmpp:omemo:2 on the
// protocol core of pkg/omemo2; Open registers it before Legacy. Its Encrypt
// wraps the body in the XEP-0420 envelope (from the account, to the
// message's recipient or room, which Seal and SealGroup put in the context)
// and its Decrypt checks the envelope's from and to against the stanza
// (Decrypt puts them in the context): a mismatch is an undecryptable
// message with omemo2.ErrAffix. The shared Identity's Curve25519 key is
// used in its Ed25519 form (omemo2.IdentityFromX25519), so fingerprints are
// the same in both versions. It keeps its prekeys, signed prekeys and
// sessions in the same tables under its own version column.
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
