package omemo

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"filippo.io/edwards25519"
	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/omemo2"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS2 is the namespace of OMEMO 2.
const NS2 = omemo2.NS

// Twomemo is the OMEMO 2 backend (urn:xmpp:omemo:2, pkg/omemo2). It shares
// the account's Identity: the Curve25519 identity key in its Ed25519 form,
// so both versions show one fingerprint. Its rows in the version-keyed
// tables hold: prekeys the 32-byte X25519 private key, signed prekeys the
// private key followed by the 64-byte signature, sessions
// omemo2.Session.MarshalBinary.
type Twomemo struct{}

// Version implements Backend.
func (Twomemo) Version() string { return NS2 }

// twoBundle is a fetched OMEMO 2 bundle with its identity key in the
// 33-byte Curve25519 form the Client compares and fingerprints.
type twoBundle struct {
	b  *omemo2.Bundle
	ik []byte
}

// Identity implements RemoteBundle.
func (b *twoBundle) Identity() []byte { return b.ik }

// montIdentity converts an Ed25519 identity key to the 33-byte
// Curve25519 form (type byte 0x05) that OMEMO 0.3 uses for the same key.
func montIdentity(ed []byte) ([]byte, error) {
	p, err := new(edwards25519.Point).SetBytes(ed)
	if err != nil || len(ed) != 32 {
		return nil, errors.New("invalid identity key")
	}
	return append([]byte{0x05}, p.BytesMontgomery()...), nil
}

func twoIdentity(id *Identity) (*omemo2.Identity, error) {
	return omemo2.IdentityFromX25519(id.Private[:])
}

func rawXML(el stanza.Element) ([]byte, error) { return xml.Marshal(el) }

// FetchDevices implements Backend.
func (Twomemo) FetchDevices(ctx context.Context, s conn.Session, jid string) ([]uint32, error) {
	items, err := pep.Items(ctx, s, jid, omemo2.NSDevices, 0, omemo2.DevicesItem)
	if isMissing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	raw, ok, err := firstPayload(items)
	if !ok || err != nil {
		return nil, err
	}
	l, err := omemo2.ParseDeviceList(raw)
	if err != nil {
		return nil, err
	}
	ids := make([]uint32, 0, len(l.Devices))
	for _, d := range l.Devices {
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// firstPayload returns the first item that has a payload, as XML.
func firstPayload(items []pep.Item) (raw []byte, ok bool, err error) {
	for _, it := range items {
		if it.Payload.XMLName.Local == "" {
			continue
		}
		raw, err := rawXML(it.Payload)
		return raw, err == nil, err
	}
	return nil, false, nil
}

// PublishDevices implements Backend.
func (Twomemo) PublishDevices(ctx context.Context, s conn.Session, ids []uint32) error {
	l := &omemo2.DeviceList{}
	for _, id := range ids {
		l.Devices = append(l.Devices, omemo2.Device{ID: id})
	}
	return pep.Publish(ctx, s, omemo2.NSDevices, omemo2.DevicesItem, l, pep.Options{Access: pep.Open})
}

// FetchBundle implements Backend.
func (Twomemo) FetchBundle(ctx context.Context, s conn.Session, jid string, device uint32) (RemoteBundle, error) {
	items, err := pep.Items(ctx, s, jid, omemo2.NSBundles, 0, strconv.FormatUint(uint64(device), 10))
	if isMissing(err) {
		return nil, fmt.Errorf("device %d of %s publishes no OMEMO 2 bundle", device, jid)
	}
	if err != nil {
		return nil, err
	}
	raw, ok, err := firstPayload(items)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("device %d of %s publishes no OMEMO 2 bundle", device, jid)
	}
	b, err := omemo2.ParseBundle(raw)
	if err != nil {
		return nil, err
	}
	if err := b.Verify(); err != nil {
		return nil, err
	}
	ik, err := montIdentity(b.IdentityKey)
	if err != nil {
		return nil, err
	}
	return &twoBundle{b: b, ik: ik}, nil
}

// EnsureKeys implements Backend: a signed prekey rotated after
// SignedPreKeyLifetime (the previous one kept) and PreKeyCount one-time
// prekeys, ids never reused while the counter lasts.
func (Twomemo) EnsureKeys(ctx context.Context, tx *sql.Tx, account string, id *Identity, now time.Time) (bool, error) {
	changed := false
	var newestID uint32
	var newestCreated int64
	err := tx.QueryRowContext(ctx, `SELECT id, created FROM omemo_signed_prekeys WHERE account=? AND version=?
		ORDER BY created DESC, id DESC LIMIT 1`, account, NS2).Scan(&newestID, &newestCreated)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("omemo: signed prekeys: %w", err)
	}
	if newestID == 0 || now.Sub(time.UnixMilli(newestCreated)) > SignedPreKeyLifetime {
		oid, err := twoIdentity(id)
		if err != nil {
			return false, err
		}
		next := newestID%omemo2.MaxID + 1
		spk, err := omemo2.GenerateSignedPreKey(oid, next)
		if err != nil {
			return false, err
		}
		// Keep the previous one for key exchanges still in flight.
		if _, err := tx.ExecContext(ctx, `DELETE FROM omemo_signed_prekeys WHERE account=? AND version=? AND id<>?`,
			account, NS2, newestID); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO omemo_signed_prekeys (account, version, id, record, created)
			VALUES (?,?,?,?,?)`, account, NS2, next, append(bytes.Clone(spk.Private), spk.Signature...), now.UnixMilli()); err != nil {
			return false, err
		}
		changed = true
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM omemo_prekeys WHERE account=? AND version=?`,
		account, NS2).Scan(&have); err != nil {
		return false, fmt.Errorf("omemo: prekeys: %w", err)
	}
	if have < PreKeyCount {
		last, err := getMeta(ctx, tx, account, NS2, "last_prekey_id")
		if err != nil {
			return false, err
		}
		next, _ := strconv.ParseUint(last, 10, 32)
		for ; have < PreKeyCount; have++ {
			next = next%omemo2.MaxID + 1
			pks, err := omemo2.GeneratePreKeys(uint32(next), 1)
			if err != nil {
				return false, err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO omemo_prekeys (account, version, id, record) VALUES (?,?,?,?)`,
				account, NS2, next, pks[0].Private); err != nil {
				return false, err
			}
		}
		if err := setMeta(ctx, tx, account, NS2, "last_prekey_id", strconv.FormatUint(next, 10)); err != nil {
			return false, err
		}
		changed = true
	}
	if changed {
		if err := setMeta(ctx, tx, account, NS2, "bundle_published", ""); err != nil {
			return false, err
		}
	}
	return changed, nil
}

func loadSignedPreKeys2(ctx context.Context, tx *sql.Tx, account string) ([]omemo2.SignedPreKey, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, record FROM omemo_signed_prekeys WHERE account=? AND version=?
		ORDER BY created DESC, id DESC`, account, NS2)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []omemo2.SignedPreKey
	for rows.Next() {
		var k omemo2.SignedPreKey
		var rec []byte
		if err := rows.Scan(&k.ID, &rec); err != nil {
			return nil, err
		}
		if len(rec) != 32+64 {
			return nil, errors.New("omemo: stored OMEMO 2 signed prekey is damaged")
		}
		k.Private, k.Signature = rec[:32], rec[32:]
		out = append(out, k)
	}
	return out, rows.Err()
}

// OwnBundle implements Backend.
func (Twomemo) OwnBundle(ctx context.Context, tx *sql.Tx, account string, id *Identity) (any, error) {
	oid, err := twoIdentity(id)
	if err != nil {
		return nil, err
	}
	spks, err := loadSignedPreKeys2(ctx, tx, account)
	if err != nil {
		return nil, err
	}
	if len(spks) == 0 {
		return nil, errors.New("omemo: no OMEMO 2 signed prekey")
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, record FROM omemo_prekeys WHERE account=? AND version=? ORDER BY id`, account, NS2)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pks []omemo2.PreKey
	for rows.Next() {
		var k omemo2.PreKey
		if err := rows.Scan(&k.ID, &k.Private); err != nil {
			return nil, err
		}
		pks = append(pks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return omemo2.NewBundle(oid, spks[0], pks), nil
}

// PublishBundle implements Backend: item <device id> of the bundles node,
// which keeps one item per device (max_items max), open access.
func (Twomemo) PublishBundle(ctx context.Context, s conn.Session, device uint32, item any) error {
	return pep.PublishMax(ctx, s, omemo2.NSBundles, strconv.FormatUint(uint64(device), 10), item, pep.Open)
}

func loadSession2(ctx context.Context, tx *sql.Tx, account, jid string, device uint32) (*omemo2.Session, error) {
	var rec []byte
	err := tx.QueryRowContext(ctx, `SELECT record FROM omemo_sessions WHERE account=? AND version=? AND jid=? AND device=?`,
		account, NS2, jid, device).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := new(omemo2.Session)
	if err := s.UnmarshalBinary(rec); err != nil {
		return nil, fmt.Errorf("omemo: stored OMEMO 2 session with device %d of %s: %w", device, jid, err)
	}
	return s, nil
}

func storeSession2(ctx context.Context, tx *sql.Tx, account, jid string, device uint32, s *omemo2.Session) error {
	rec, err := s.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO omemo_sessions (account, version, jid, device, record) VALUES (?,?,?,?,?)
		ON CONFLICT(account, version, jid, device) DO UPDATE SET record=excluded.record`, account, NS2, jid, device, rec)
	return err
}

// HasSession implements Backend.
func (Twomemo) HasSession(ctx context.Context, tx *sql.Tx, account string, id *Identity, jid string, device uint32) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM omemo_sessions WHERE account=? AND version=? AND jid=? AND device=?`,
		account, NS2, jid, device).Scan(&n)
	return n > 0, err
}

// Addressing of a message: the XEP-0420 envelope names the stanza's
// sender and recipient (bare JIDs; the room for a group chat message),
// which a Backend's Encrypt and Decrypt do not otherwise see.
type addressingKey struct{}

type addressing struct {
	from, to  string
	groupchat bool
}

func withAddressing(ctx context.Context, from, to string, groupchat bool) context.Context {
	return context.WithValue(ctx, addressingKey{}, addressing{from: from, to: to, groupchat: groupchat})
}

func addressingOf(ctx context.Context) (addressing, bool) {
	a, ok := ctx.Value(addressingKey{}).(addressing)
	return a, ok
}

// Encrypt implements Backend: the body in an XEP-0420 envelope (from the
// account, to the message's recipient), sealed with a fresh key; the
// 48-byte key material encrypted per device. An empty message encrypts
// omemo2.EmptyKey and has no payload.
func (Twomemo) Encrypt(ctx context.Context, tx *sql.Tx, account string, id *Identity, plaintext []byte, to []Recipient) (any, error) {
	oid, err := twoIdentity(id)
	if err != nil {
		return nil, err
	}
	enc := &omemo2.Encrypted{Header: omemo2.Header{SID: id.DeviceID}}
	km := omemo2.EmptyKey()
	if plaintext != nil {
		a, ok := addressingOf(ctx)
		if !ok || a.to == "" {
			return nil, errors.New("OMEMO 2: message recipient unknown (envelope <to/>)")
		}
		from, err := jid.Parse(account)
		if err != nil {
			return nil, err
		}
		rcpt, err := jid.Parse(a.to)
		if err != nil {
			return nil, err
		}
		env, err := omemo2.NewEnvelope(string(plaintext), from, rcpt, time.Now())
		if err != nil {
			return nil, err
		}
		pt, err := env.Marshal()
		if err != nil {
			return nil, err
		}
		if enc.Payload, km, err = omemo2.Seal(pt); err != nil {
			return nil, err
		}
	}
	for _, r := range to {
		var s *omemo2.Session
		if r.Bundle != nil {
			b, ok := r.Bundle.(*twoBundle)
			if !ok {
				return nil, fmt.Errorf("device %d of %s: not an OMEMO 2 bundle", r.Device, r.JID)
			}
			if s, err = omemo2.InitiateSession(oid, b.b); err != nil {
				return nil, fmt.Errorf("device %d of %s: start session: %w", r.Device, r.JID, err)
			}
		} else if s, err = loadSession2(ctx, tx, account, r.JID, r.Device); err != nil {
			return nil, err
		} else if s == nil {
			return nil, fmt.Errorf("device %d of %s: no OMEMO 2 session", r.Device, r.JID)
		}
		wire, kex, err := s.EncryptKey(km)
		if err != nil {
			return nil, fmt.Errorf("device %d of %s: encrypt: %w", r.Device, r.JID, err)
		}
		if err := storeSession2(ctx, tx, account, r.JID, r.Device, s); err != nil {
			return nil, err
		}
		enc.AddKey(r.JID, omemo2.NewKey(r.Device, wire, kex))
	}
	return enc, nil
}

// ErrAffix marks an OMEMO 2 message whose envelope names another sender
// or recipient than the stanza that carried it (replayed or redirected by
// someone who could not read it): never shown as a normal message.
var ErrAffix = omemo2.ErrAffix

// Decrypt implements Backend.
func (Twomemo) Decrypt(ctx context.Context, tx *sql.Tx, account string, id *Identity, sender string, el stanza.Element) (*Decrypted, error) {
	raw, err := rawXML(el)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBroken, err)
	}
	enc, err := omemo2.ParseEncrypted(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBroken, err)
	}
	if sender == account && enc.Header.SID == id.DeviceID {
		return nil, errors.New("sent by this device (a sender keeps no copy it can decrypt)")
	}
	k := enc.Find(account, id.DeviceID)
	if k == nil {
		return nil, ErrNotForUs
	}
	oid, err := twoIdentity(id)
	if err != nil {
		return nil, err
	}
	s, err := loadSession2(ctx, tx, account, sender, enc.Header.SID)
	if err != nil {
		return nil, err
	}
	out := &Decrypted{SenderDevice: enc.Header.SID}
	var km []byte
	if k.IsKeyExchange() {
		kx, err := omemo2.ParseKeyExchange(k.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBroken, err)
		}
		if s != nil && s.SameKeyExchange(kx) {
			if km, err = s.DecryptKey(kx.Message); errors.Is(err, omemo2.ErrDuplicate) {
				// The key exchange seen before (MAM after live): nothing new.
				out.Identity, _ = montIdentity(s.PeerIdentity())
				return out, nil
			}
		} else {
			var spk omemo2.SignedPreKey
			var pk omemo2.PreKey
			if spk, pk, err = preKeys2(ctx, tx, account, kx); err != nil {
				return nil, err
			}
			if s, km, err = omemo2.RespondSession(oid, kx, spk, pk); err == nil {
				if _, err = tx.ExecContext(ctx, `DELETE FROM omemo_prekeys WHERE account=? AND version=? AND id=?`,
					account, NS2, pk.ID); err != nil {
					return nil, err
				}
				out.PreKeyUsed = true
			}
		}
		if err != nil {
			return nil, decryptErr2(err)
		}
	} else {
		if s == nil {
			return nil, &NoSessionError{Device: enc.Header.SID}
		}
		if km, err = s.DecryptKey(k.Data); err != nil {
			if errors.Is(err, omemo2.ErrDuplicate) {
				// A message seen before (MAM after live): nothing new to show.
				out.Identity, _ = montIdentity(s.PeerIdentity())
				return out, nil
			}
			return nil, decryptErr2(err)
		}
	}
	if out.Identity, err = montIdentity(s.PeerIdentity()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBroken, err)
	}
	if err := storeSession2(ctx, tx, account, sender, enc.Header.SID, s); err != nil {
		return nil, err
	}
	if omemo2.IsEmptyKey(km) || len(enc.Payload) == 0 {
		return out, nil // an empty message: completes the session or moves the ratchet
	}
	pt, err := omemo2.Open(enc.Payload, km)
	if err != nil {
		return nil, ErrTampered
	}
	env, err := omemo2.ParseEnvelope(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	if err := checkEnvelope(ctx, env, sender, account); err != nil {
		return nil, err
	}
	out.Plaintext = []byte(env.BodyText())
	return out, nil
}

// checkEnvelope compares the envelope's affixes with the stanza (see
// omemo2.Envelope.Check). A stanza without to (as some archives store it)
// was addressed to the account.
func checkEnvelope(ctx context.Context, env *omemo2.Envelope, sender, account string) error {
	a, _ := addressingOf(ctx)
	from, to := a.from, a.to
	if from == "" {
		from = sender
	}
	if to == "" {
		to = account
	}
	fj, err1 := jid.Parse(from)
	tj, err2 := jid.Parse(to)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("%w: %v", ErrAffix, err)
	}
	return env.Check(fj, tj, a.groupchat)
}

func decryptErr2(err error) error {
	if errors.Is(err, omemo2.ErrAuth) {
		return fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return fmt.Errorf("%w: %v", ErrBroken, err)
}

// preKeys2 finds the signed prekey and one-time prekey a key exchange
// names.
func preKeys2(ctx context.Context, tx *sql.Tx, account string, kx *omemo2.KeyExchange) (omemo2.SignedPreKey, omemo2.PreKey, error) {
	spks, err := loadSignedPreKeys2(ctx, tx, account)
	if err != nil {
		return omemo2.SignedPreKey{}, omemo2.PreKey{}, err
	}
	var spk omemo2.SignedPreKey
	for _, k := range spks {
		if k.ID == kx.SignedPreKeyID {
			spk = k
		}
	}
	if spk.ID == 0 {
		return spk, omemo2.PreKey{}, fmt.Errorf("%w: key exchange names signed prekey %d, which this device no longer has", ErrBroken, kx.SignedPreKeyID)
	}
	pk := omemo2.PreKey{ID: kx.PreKeyID}
	err = tx.QueryRowContext(ctx, `SELECT record FROM omemo_prekeys WHERE account=? AND version=? AND id=?`,
		account, NS2, kx.PreKeyID).Scan(&pk.Private)
	if errors.Is(err, sql.ErrNoRows) {
		return spk, pk, fmt.Errorf("%w: key exchange names prekey %d, already used or unknown", ErrBroken, kx.PreKeyID)
	}
	return spk, pk, err
}

// SealedWith names the OMEMO versions a sealed message uses (their
// namespaces, newest first, space-separated): what send --json reports.
func SealedWith(m *stanza.Message) string {
	var out []string
	for _, p := range m.Payload {
		if e, ok := p.(EME); ok {
			out = append(out, e.Namespace)
		}
	}
	return strings.Join(out, " ")
}

// VersionName is the short name of an OMEMO version for people: "0.3" or
// "2".
func VersionName(ns string) string {
	switch ns {
	case NS:
		return "0.3"
	case NS2:
		return "2"
	}
	return ns
}

// adoptSiblingTrust carries a decision made for a device under one version
// over to the same device under another (same JID and device id, same
// identity key: one device speaking 0.3 and OMEMO 2, as python-omemo
// clients do), so that verifying it once is enough, and OMEMO 2 is not
// refused a device verified under 0.3. Only automatic states (blind,
// undecided) are replaced; a row whose identity is not known yet takes
// the sibling's, which the bundle fetched before the first message must
// then show (Client.targets skips it otherwise).
func adoptSiblingTrust(ctx context.Context, tx *sql.Tx, account, version, jid string) error {
	_, err := tx.ExecContext(ctx, `UPDATE omemo_devices AS d SET trust = s.trust, identity = s.identity
		FROM omemo_devices AS s
		WHERE d.account=? AND d.version=? AND d.jid=?
		AND s.account=d.account AND s.jid=d.jid AND s.device=d.device AND s.version<>d.version
		AND s.identity IS NOT NULL AND (d.identity IS NULL OR d.identity=s.identity)
		AND d.trust IN (?, ?) AND s.trust IN (?, ?) AND s.trust<>d.trust`,
		account, version, jid, string(TrustBlind), string(TrustUndecided), string(TrustVerified), string(TrustDistrusted))
	if err != nil {
		return fmt.Errorf("omemo: trust of the same device in another version: %w", err)
	}
	return nil
}
