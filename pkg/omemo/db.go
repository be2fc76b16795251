package omemo

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/util/keyhelper"

	"github.com/xmppctl/xmppctl/pkg/store"
)

// Identity is the account's OMEMO device: one device id and identity key
// shared by every protocol version.
type Identity struct {
	DeviceID       uint32
	RegistrationID uint32
	Private        [32]byte // Curve25519
	Public         [32]byte
	Created        time.Time
}

// KeyPair returns the identity in libsignal's form.
func (id *Identity) KeyPair() *identity.KeyPair {
	return identity.NewKeyPair(identity.NewKey(ecc.NewDjbECPublicKey(id.Public)), ecc.NewDjbECPrivateKey(id.Private))
}

// PublicKey is the identity key in its 33-byte wire form.
func (id *Identity) PublicKey() []byte { return append([]byte{0x05}, id.Public[:]...) }

// Fingerprint is the identity key in the form clients show.
func (id *Identity) Fingerprint() string { return Fingerprint(id.Public[:]) }

// loadIdentity reads the account's identity; ok is false when it has none.
func loadIdentity(ctx context.Context, tx *sql.Tx, account string) (*Identity, bool, error) {
	var id Identity
	var priv, pub []byte
	var created int64
	err := tx.QueryRowContext(ctx, `SELECT device_id, reg_id, private_key, public_key, created FROM omemo_identity
		WHERE account=?`, account).Scan(&id.DeviceID, &id.RegistrationID, &priv, &pub, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("omemo: load identity: %w", err)
	}
	if len(priv) != 32 || len(pub) != 32 {
		return nil, false, errors.New("omemo: stored identity is damaged")
	}
	copy(id.Private[:], priv)
	copy(id.Public[:], pub)
	id.Created = time.UnixMilli(created).UTC()
	return &id, true, nil
}

// createIdentity makes a new device: a random 31-bit device id (never 0)
// and a new identity key pair.
func createIdentity(ctx context.Context, tx *sql.Tx, account string, now time.Time) (*Identity, error) {
	kp, err := keyhelper.GenerateIdentityKeyPair()
	if err != nil {
		return nil, fmt.Errorf("omemo: generate identity: %w", err)
	}
	id := &Identity{DeviceID: randomID(1<<31 - 1), RegistrationID: keyhelper.GenerateRegistrationID(), Created: now.UTC()}
	id.Public = kp.PublicKey().PublicKey().PublicKey()
	id.Private = kp.PrivateKey().Serialize()
	_, err = tx.ExecContext(ctx, `INSERT INTO omemo_identity (account, device_id, reg_id, private_key, public_key, created)
		VALUES (?,?,?,?,?,?)`, account, id.DeviceID, id.RegistrationID, id.Private[:], id.Public[:], now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("omemo: save identity: %w", err)
	}
	return id, nil
}

// randomID returns a uniformly random id in [1, max].
func randomID(max uint32) uint32 {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(max)))
	if err != nil {
		panic("crypto/rand failed: " + err.Error()) // the system has no randomness: nothing is safe
	}
	return uint32(n.Int64()) + 1
}

// Trust states of a remote device (column omemo_devices.trust).
type Trust string

// Trust states. Blind is "trusted before verification": usable under the
// btbv policy only; Undecided devices are never used until trusted.
const (
	TrustVerified   Trust = "verified"
	TrustBlind      Trust = "blind"
	TrustUndecided  Trust = "undecided"
	TrustDistrusted Trust = "distrusted"
)

// Policy is how new devices are trusted.
type Policy string

// Policies: btbv (blind trust before verification, the default, as
// Conversations) and manual.
const (
	PolicyBTBV   Policy = "btbv"
	PolicyManual Policy = "manual"
)

// ParsePolicy validates a policy given by the user ("" = btbv).
func ParsePolicy(s string) (Policy, error) {
	switch Policy(s) {
	case "", PolicyBTBV:
		return PolicyBTBV, nil
	case PolicyManual:
		return PolicyManual, nil
	}
	return "", fmt.Errorf("invalid OMEMO trust policy %q: want btbv or manual", s)
}

// Usable reports whether a device in state t may receive our messages
// under policy p.
func (t Trust) Usable(p Policy) bool {
	return t == TrustVerified || (t == TrustBlind && p == PolicyBTBV)
}

// Device is a remote (or our own other) device as the store knows it.
type Device struct {
	Version   string    `json:"version"`
	JID       string    `json:"jid"`
	ID        uint32    `json:"id"`
	Identity  []byte    `json:"-"` // 33 bytes; nil until its bundle or a message showed it
	Trust     Trust     `json:"trust"`
	Active    bool      `json:"active"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Own       bool      `json:"own,omitempty"` // this is our device
}

// Fingerprint of the device's identity key ("" when unknown).
func (d *Device) Fingerprint() string {
	if len(d.Identity) != publicKeyLen {
		return ""
	}
	return Fingerprint(d.Identity[1:])
}

func loadDevices(ctx context.Context, tx *sql.Tx, account, version, jid string) ([]Device, error) {
	q := `SELECT version, jid, device, identity, trust, active, first_seen, last_seen FROM omemo_devices
		WHERE account=? AND (?='' OR version=?) AND (?='' OR jid=?) ORDER BY jid, device`
	rows, err := tx.QueryContext(ctx, q, account, version, version, jid, jid)
	if err != nil {
		return nil, fmt.Errorf("omemo: load devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var d Device
		var first, last int64
		var active int
		if err := rows.Scan(&d.Version, &d.JID, &d.ID, &d.Identity, &d.Trust, &active, &first, &last); err != nil {
			return nil, fmt.Errorf("omemo: load devices: %w", err)
		}
		d.Active = active != 0
		d.FirstSeen, d.LastSeen = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// updateDeviceList records that jid now publishes exactly ids: new devices
// get their initial trust, listed ones are active, others inactive (never
// deleted: their trust decision is kept).
func updateDeviceList(ctx context.Context, tx *sql.Tx, account, version, jid string, ids []uint32, p Policy, now time.Time) error {
	initial, err := initialTrust(ctx, tx, account, jid, p)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE omemo_devices SET active=0 WHERE account=? AND version=? AND jid=?`,
		account, version, jid); err != nil {
		return fmt.Errorf("omemo: update devices: %w", err)
	}
	for _, id := range ids {
		_, err := tx.ExecContext(ctx, `INSERT INTO omemo_devices (account, version, jid, device, trust, active, first_seen, last_seen)
			VALUES (?,?,?,?,?,1,?,?) ON CONFLICT(account, version, jid, device) DO UPDATE SET active=1, last_seen=excluded.last_seen,
			trust=CASE WHEN omemo_devices.trust='' THEN excluded.trust ELSE omemo_devices.trust END,
			first_seen=CASE WHEN omemo_devices.first_seen=0 THEN excluded.first_seen ELSE omemo_devices.first_seen END`,
			account, version, jid, id, string(initial), now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("omemo: update devices: %w", err)
		}
	}
	return adoptSiblingTrust(ctx, tx, account, version, jid)
}

// initialTrust is the trust a newly seen device of jid gets: blind under
// btbv while none of jid's devices is verified, else undecided.
func initialTrust(ctx context.Context, tx *sql.Tx, account, jid string, p Policy) (Trust, error) {
	if p != PolicyBTBV {
		return TrustUndecided, nil
	}
	var verified bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM omemo_devices WHERE account=? AND jid=? AND trust=?)`,
		account, jid, string(TrustVerified)).Scan(&verified)
	if err != nil {
		return "", fmt.Errorf("omemo: trust: %w", err)
	}
	if verified {
		return TrustUndecided, nil
	}
	return TrustBlind, nil
}

// seeDevice makes sure a device we got a message from is known, with its
// identity key; it returns the device's trust.
func seeDevice(ctx context.Context, tx *sql.Tx, account, version, jid string, id uint32, ik []byte, p Policy, now time.Time) (Trust, error) {
	initial, err := initialTrust(ctx, tx, account, jid, p)
	if err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO omemo_devices (account, version, jid, device, identity, trust, active, first_seen, last_seen)
		VALUES (?,?,?,?,?,?,1,?,?) ON CONFLICT(account, version, jid, device) DO UPDATE SET last_seen=excluded.last_seen,
		identity=COALESCE(omemo_devices.identity, excluded.identity),
		trust=CASE WHEN omemo_devices.trust='' THEN excluded.trust ELSE omemo_devices.trust END,
		first_seen=CASE WHEN omemo_devices.first_seen=0 THEN excluded.first_seen ELSE omemo_devices.first_seen END`,
		account, version, jid, id, ik, string(initial), now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return "", fmt.Errorf("omemo: record device: %w", err)
	}
	if err := adoptSiblingTrust(ctx, tx, account, version, jid); err != nil {
		return "", err
	}
	var t Trust
	err = tx.QueryRowContext(ctx, `SELECT trust FROM omemo_devices WHERE account=? AND version=? AND jid=? AND device=?`,
		account, version, jid, id).Scan(&t)
	return t, err
}

// Meta values kept per account and version.
func getMeta(ctx context.Context, tx *sql.Tx, account, version, key string) (string, error) {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM omemo_meta WHERE account=? AND version=? AND key=?`,
		account, version, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setMeta(ctx context.Context, tx *sql.Tx, account, version, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO omemo_meta (account, version, key, value) VALUES (?,?,?,?)
		ON CONFLICT(account, version, key) DO UPDATE SET value=excluded.value`, account, version, key, value)
	return err
}

// update runs fn in one transaction of the store.
func update(ctx context.Context, st *store.Store, fn func(tx *sql.Tx) error) error {
	return st.Update(ctx, func(b *store.Batch) error { return fn(b.Tx()) })
}
