package omemo

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
)

// Key counts and lifetimes.
const (
	// PreKeyCount is how many one-time prekeys a bundle offers; used ones
	// are replaced at once.
	PreKeyCount = 100
	// SignedPreKeyLifetime is when the signed prekey is rotated; the
	// previous one is kept for prekey messages still in flight.
	SignedPreKeyLifetime = 7 * 24 * time.Hour
	maxPreKeyID          = 1<<24 - 1
)

// ensureKeys gives the version its signed prekey (rotated when older than
// SignedPreKeyLifetime, keeping one previous) and PreKeyCount one-time
// prekeys. It reports whether anything changed (the bundle must then be
// published again).
func ensureKeys(ctx context.Context, tx *sql.Tx, account, version string, id *Identity, now time.Time) (bool, error) {
	s := newSigStore(tx, account, version, id)
	changed := false
	spks, err := s.LoadSignedPreKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("omemo: signed prekeys: %w", err)
	}
	newest := newestSigned(spks)
	if newest == nil || now.Sub(time.UnixMilli(newest.Timestamp())) > SignedPreKeyLifetime {
		next := uint32(1)
		if newest != nil {
			next = newest.ID()%maxPreKeyID + 1
		}
		spk, err := keyhelper.GenerateSignedPreKey(id.KeyPair(), next, serializer.SignedPreKeyRecord)
		if err != nil {
			return false, fmt.Errorf("omemo: generate signed prekey: %w", err)
		}
		// keyhelper stamps seconds; we compare in milliseconds.
		spk = record.NewSignedPreKey(spk.ID(), now.UnixMilli(), spk.KeyPair(), spk.Signature(), serializer.SignedPreKeyRecord)
		if err := s.StoreSignedPreKey(ctx, next, spk); err != nil {
			return false, err
		}
		for _, old := range spks {
			if newest != nil && old.ID() != newest.ID() {
				if err := s.RemoveSignedPreKey(ctx, old.ID()); err != nil {
					return false, err
				}
			}
		}
		changed = true
	}
	var have int
	var maxID sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MAX(id) FROM omemo_prekeys WHERE account=? AND version=?`,
		account, version).Scan(&have, &maxID); err != nil {
		return false, fmt.Errorf("omemo: prekeys: %w", err)
	}
	// Ids are never reused while the counter lasts: a late prekey message
	// must not meet a different key under its id.
	last, err := getMeta(ctx, tx, account, version, "last_prekey_id")
	if err != nil {
		return false, err
	}
	next, _ := strconv.ParseUint(last, 10, 32)
	if maxID.Valid && uint64(maxID.Int64) > next {
		next = uint64(maxID.Int64)
	}
	for ; have < PreKeyCount; have++ {
		next = next%maxPreKeyID + 1
		kp, err := ecc.GenerateKeyPair()
		if err != nil {
			return false, fmt.Errorf("omemo: generate prekey: %w", err)
		}
		pk := record.NewPreKey(uint32(next), kp, serializer.PreKeyRecord)
		if err := s.StorePreKey(ctx, uint32(next), pk); err != nil {
			return false, err
		}
		changed = true
	}
	if changed {
		if err := setMeta(ctx, tx, account, version, "last_prekey_id", strconv.FormatUint(next, 10)); err != nil {
			return false, err
		}
		if err := setMeta(ctx, tx, account, version, "bundle_published", ""); err != nil {
			return false, err
		}
	}
	return changed, nil
}

func newestSigned(spks []*record.SignedPreKey) *record.SignedPreKey {
	var n *record.SignedPreKey
	for _, s := range spks {
		if n == nil || s.Timestamp() > n.Timestamp() {
			n = s
		}
	}
	return n
}

// ownBundle builds the bundle to publish from the stored keys.
func ownBundle(ctx context.Context, tx *sql.Tx, account, version string, id *Identity) (*Bundle, error) {
	s := newSigStore(tx, account, version, id)
	spks, err := s.LoadSignedPreKeys(ctx)
	if err != nil {
		return nil, err
	}
	spk := newestSigned(spks)
	if spk == nil {
		return nil, fmt.Errorf("omemo: no signed prekey")
	}
	b := &Bundle{
		IdentityKey:    id.PublicKey(),
		SignedPreKeyID: spk.ID(),
		SignedPreKey:   spk.KeyPair().PublicKey().Serialize(),
		Signature:      spk.Signature(),
		PreKeys:        map[uint32][]byte{},
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, record FROM omemo_prekeys WHERE account=? AND version=? ORDER BY id`, account, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		var id uint32
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		pk, err := decodePreKey(id, raw)
		if err != nil {
			return nil, err
		}
		b.PreKeys[pk.ID().Value] = pk.KeyPair().PublicKey().Serialize()
	}
	return b, rows.Err()
}

// Fingerprint formats a 32-byte identity key (without its type byte) the
// way OMEMO clients show it: 64 hex digits in 8 groups of 8.
func Fingerprint(key []byte) string {
	const hexd = "0123456789abcdef"
	var sb strings.Builder
	for i, c := range key {
		if i > 0 && i%4 == 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte(hexd[c>>4])
		sb.WriteByte(hexd[c&15])
	}
	return sb.String()
}

// NormalizeFingerprint turns a fingerprint as a user may paste it (any
// case, spaces, colons, a leading "05" type byte) into the 64 hex digits
// compared against stored keys, or "" when it is not one.
func NormalizeFingerprint(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f':
			sb.WriteRune(r)
		case r == ' ' || r == ':' || r == '-' || r == '\t':
		default:
			return ""
		}
	}
	h := sb.String()
	if len(h) == 66 && strings.HasPrefix(h, "05") {
		h = h[2:]
	}
	if len(h) != 64 {
		return ""
	}
	return h
}

// bundleOf converts a fetched bundle for libsignal, choosing one prekey at
// random (so that two senders rarely pick the same).
func (b *Bundle) signal(regID, deviceID uint32) (*signalBundle, error) {
	ik, err := ecc.DecodePoint(b.IdentityKey, 0)
	if err != nil {
		return nil, err
	}
	spk, err := ecc.DecodePoint(b.SignedPreKey, 0)
	if err != nil {
		return nil, err
	}
	ids := sortedKeys(b.PreKeys)
	pid := ids[randomID(uint32(len(ids)))-1]
	pk, err := ecc.DecodePoint(b.PreKeys[pid], 0)
	if err != nil {
		return nil, err
	}
	return &signalBundle{ik: ik, spk: spk, pk: pk, pkID: optional.NewOptionalUint32(pid)}, nil
}

type signalBundle struct {
	ik, spk, pk ecc.ECPublicKeyable
	pkID        *optional.Uint32
}
