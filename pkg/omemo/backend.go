package omemo

import (
	"context"
	"database/sql"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Backend is one OMEMO protocol version. The Client does the bookkeeping
// common to all versions (identity, device records, trust, which device
// gets which version, republishing after a consumed prekey); a Backend
// does the wire format, PEP nodes and crypto of its version. Methods that
// take a *sql.Tx run inside the Client's transaction: they must not do
// network I/O, and their writes commit or roll back with the rest.
// Version-keyed tables (omemo_prekeys, omemo_signed_prekeys,
// omemo_sessions, omemo_meta) take Version() in their version column.
type Backend interface {
	// Version is the protocol's namespace (NS for OMEMO 0.3).
	Version() string

	// FetchDevices returns the device ids jid publishes (jid "" = the
	// account); nil when it publishes none or the list cannot be read
	// (item-not-found, or Prosody's forbidden for a non-contact).
	FetchDevices(ctx context.Context, s conn.Session, jid string) ([]uint32, error)
	// PublishDevices replaces the account's device list with ids (the
	// Client has done the read-modify-write).
	PublishDevices(ctx context.Context, s conn.Session, ids []uint32) error
	// FetchBundle returns a device's bundle.
	FetchBundle(ctx context.Context, s conn.Session, jid string, device uint32) (RemoteBundle, error)

	// EnsureKeys creates or refills the version's signed prekey and
	// one-time prekeys; changed says the bundle must be republished.
	EnsureKeys(ctx context.Context, tx *sql.Tx, account string, id *Identity, now time.Time) (changed bool, err error)
	// OwnBundle returns the item to publish for the account's device.
	OwnBundle(ctx context.Context, tx *sql.Tx, account string, id *Identity) (any, error)
	// PublishBundle publishes it (open access model).
	PublishBundle(ctx context.Context, s conn.Session, device uint32, item any) error

	// HasSession reports whether a session with the device exists.
	HasSession(ctx context.Context, tx *sql.Tx, account string, id *Identity, jid string, device uint32) (bool, error)
	// Encrypt encrypts plaintext (nil: an empty key transport message)
	// for every recipient device, starting a session from Bundle where
	// one is given, and returns the <encrypted/> element.
	Encrypt(ctx context.Context, tx *sql.Tx, account string, id *Identity, plaintext []byte, to []Recipient) (any, error)
	// Decrypt decrypts the version's <encrypted/> element of a message
	// from sender (bare JID).
	Decrypt(ctx context.Context, tx *sql.Tx, account string, id *Identity, sender string, el stanza.Element) (*Decrypted, error)
}

// RemoteBundle is a fetched bundle, opaque to the Client except for the
// identity key it shows the user.
type RemoteBundle interface {
	// Identity is the device's identity key in its 33-byte Curve25519 form
	// (what fingerprints are made of).
	Identity() []byte
}

// Recipient is one device to encrypt to.
type Recipient struct {
	JID    string
	Device uint32
	Bundle RemoteBundle // set when no session exists yet
}

// Decrypted is what a Backend got out of a message.
type Decrypted struct {
	SenderDevice uint32
	Identity     []byte // sender device's identity key, 33 bytes
	Plaintext    []byte // nil for an empty (key transport) message
	// PreKeyUsed says that the message started a session with one of our
	// one-time prekeys: the Client refills and republishes the bundle and
	// answers with an empty message.
	PreKeyUsed bool
}
