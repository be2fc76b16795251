package omemo

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/state/record"
)

// sigStore implements libsignal's identity, prekey, signed prekey and
// session stores on one transaction of the local store: everything a
// libsignal call changes is committed, or rolled back, together.
type sigStore struct {
	tx      *sql.Tx
	account string
	version string
	id      *Identity
	ser     *serialize.Serializer
	// removed collects the prekeys libsignal consumed, for the caller to
	// replace and republish.
	removed []uint32
}

var serializer = serialize.NewProtoBufSerializer()

func newSigStore(tx *sql.Tx, account, version string, id *Identity) *sigStore {
	return &sigStore{tx: tx, account: account, version: version, id: id, ser: serializer}
}

func (s *sigStore) GetIdentityKeyPair() *identity.KeyPair { return s.id.KeyPair() }
func (s *sigStore) GetLocalRegistrationID() uint32        { return s.id.RegistrationID }

// SaveIdentity records a remote device's identity key the first time it
// is seen; a device id never changes its key (IsTrustedIdentity refuses).
func (s *sigStore) SaveIdentity(ctx context.Context, a *protocol.SignalAddress, k *identity.Key) error {
	// trust '' marks a device the Client has not applied its policy to
	// yet (it does right after the libsignal call).
	_, err := s.tx.ExecContext(ctx, `INSERT INTO omemo_devices (account, version, jid, device, identity, trust, active, first_seen, last_seen)
		VALUES (?,?,?,?,?,'',1,0,0) ON CONFLICT(account, version, jid, device) DO UPDATE
		SET identity=COALESCE(omemo_devices.identity, excluded.identity)`,
		s.account, s.version, a.Name(), a.DeviceID(), k.Serialize())
	return err
}

// IsTrustedIdentity refuses an identity key other than the one a device
// id first showed: that is a different device claiming the id. Whether
// the user trusts the device is decided above libsignal (trust.go).
func (s *sigStore) IsTrustedIdentity(ctx context.Context, a *protocol.SignalAddress, k *identity.Key) (bool, error) {
	var stored []byte
	err := s.tx.QueryRowContext(ctx, `SELECT identity FROM omemo_devices WHERE account=? AND version=? AND jid=? AND device=?`,
		s.account, s.version, a.Name(), a.DeviceID()).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && stored == nil) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return bytes.Equal(stored, k.Serialize()), nil
}

func (s *sigStore) LoadPreKey(ctx context.Context, id uint32) (*record.PreKey, error) {
	var b []byte
	err := s.tx.QueryRowContext(ctx, `SELECT record FROM omemo_prekeys WHERE account=? AND version=? AND id=?`,
		s.account, s.version, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("prekey %d is unknown (already used?)", id)
	}
	if err != nil {
		return nil, err
	}
	return decodePreKey(id, b)
}

func (s *sigStore) StorePreKey(ctx context.Context, id uint32, r *record.PreKey) error {
	_, err := s.tx.ExecContext(ctx, `INSERT OR REPLACE INTO omemo_prekeys (account, version, id, record) VALUES (?,?,?,?)`,
		s.account, s.version, id, privateOf(r.KeyPair()))
	return err
}

func (s *sigStore) ContainsPreKey(ctx context.Context, id uint32) (bool, error) {
	var ok bool
	err := s.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM omemo_prekeys WHERE account=? AND version=? AND id=?)`,
		s.account, s.version, id).Scan(&ok)
	return ok, err
}

func (s *sigStore) RemovePreKey(ctx context.Context, id uint32) error {
	s.removed = append(s.removed, id)
	_, err := s.tx.ExecContext(ctx, `DELETE FROM omemo_prekeys WHERE account=? AND version=? AND id=?`, s.account, s.version, id)
	return err
}

func (s *sigStore) LoadSignedPreKey(ctx context.Context, id uint32) (*record.SignedPreKey, error) {
	var b []byte
	var created int64
	err := s.tx.QueryRowContext(ctx, `SELECT record, created FROM omemo_signed_prekeys WHERE account=? AND version=? AND id=?`,
		s.account, s.version, id).Scan(&b, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("signed prekey %d is unknown (rotated out?)", id)
	}
	if err != nil {
		return nil, err
	}
	return decodeSignedPreKey(id, created, b)
}

func (s *sigStore) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	rows, err := s.tx.QueryContext(ctx, `SELECT id, record, created FROM omemo_signed_prekeys WHERE account=? AND version=? ORDER BY id`,
		s.account, s.version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*record.SignedPreKey
	for rows.Next() {
		var b []byte
		var id uint32
		var created int64
		if err := rows.Scan(&id, &b, &created); err != nil {
			return nil, err
		}
		r, err := decodeSignedPreKey(id, created, b)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sigStore) StoreSignedPreKey(ctx context.Context, id uint32, r *record.SignedPreKey) error {
	_, err := s.tx.ExecContext(ctx, `INSERT OR REPLACE INTO omemo_signed_prekeys (account, version, id, record, created)
		VALUES (?,?,?,?,?)`, s.account, s.version, id, encodeSignedPreKey(r), r.Timestamp())
	return err
}

func (s *sigStore) ContainsSignedPreKey(ctx context.Context, id uint32) (bool, error) {
	var ok bool
	err := s.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM omemo_signed_prekeys WHERE account=? AND version=? AND id=?)`,
		s.account, s.version, id).Scan(&ok)
	return ok, err
}

func (s *sigStore) RemoveSignedPreKey(ctx context.Context, id uint32) error {
	_, err := s.tx.ExecContext(ctx, `DELETE FROM omemo_signed_prekeys WHERE account=? AND version=? AND id=?`,
		s.account, s.version, id)
	return err
}

// LoadSession returns the stored session, or a fresh one (libsignal's
// contract).
func (s *sigStore) LoadSession(ctx context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	var b []byte
	err := s.tx.QueryRowContext(ctx, `SELECT record FROM omemo_sessions WHERE account=? AND version=? AND jid=? AND device=?`,
		s.account, s.version, a.Name(), a.DeviceID()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return record.NewSession(s.ser.Session, s.ser.State), nil
	}
	if err != nil {
		return nil, err
	}
	return record.NewSessionFromBytes(b, s.ser.Session, s.ser.State)
}

func (s *sigStore) GetSubDeviceSessions(ctx context.Context, name string) ([]uint32, error) {
	rows, err := s.tx.QueryContext(ctx, `SELECT device FROM omemo_sessions WHERE account=? AND version=? AND jid=?`,
		s.account, s.version, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var id uint32
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (s *sigStore) StoreSession(ctx context.Context, a *protocol.SignalAddress, r *record.Session) error {
	_, err := s.tx.ExecContext(ctx, `INSERT OR REPLACE INTO omemo_sessions (account, version, jid, device, record)
		VALUES (?,?,?,?,?)`, s.account, s.version, a.Name(), a.DeviceID(), r.Serialize())
	return err
}

func (s *sigStore) ContainsSession(ctx context.Context, a *protocol.SignalAddress) (bool, error) {
	var ok bool
	err := s.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM omemo_sessions WHERE account=? AND version=? AND jid=? AND device=?)`,
		s.account, s.version, a.Name(), a.DeviceID()).Scan(&ok)
	return ok, err
}

func (s *sigStore) DeleteSession(ctx context.Context, a *protocol.SignalAddress) error {
	_, err := s.tx.ExecContext(ctx, `DELETE FROM omemo_sessions WHERE account=? AND version=? AND jid=? AND device=?`,
		s.account, s.version, a.Name(), a.DeviceID())
	return err
}

func (s *sigStore) DeleteAllSessions(ctx context.Context) error {
	_, err := s.tx.ExecContext(ctx, `DELETE FROM omemo_sessions WHERE account=? AND version=?`, s.account, s.version)
	return err
}

// Key records are stored as their private keys (and signature): libsignal's
// JSON record serializer reads public keys back shifted by their type
// byte, so records never round-trip through it. Public keys are derived
// again from the private ones.

func privateOf(kp *ecc.ECKeyPair) []byte {
	p := kp.PrivateKey().Serialize()
	return p[:]
}

func decodePreKey(id uint32, b []byte) (*record.PreKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("prekey %d: damaged record", id)
	}
	return record.NewPreKey(id, ecc.CreateKeyPair(b), serializer.PreKeyRecord), nil
}

func encodeSignedPreKey(r *record.SignedPreKey) []byte {
	sig := r.Signature()
	return append(privateOf(r.KeyPair()), sig[:]...)
}

func decodeSignedPreKey(id uint32, created int64, b []byte) (*record.SignedPreKey, error) {
	if len(b) != 96 {
		return nil, fmt.Errorf("signed prekey %d: damaged record", id)
	}
	var sig [64]byte
	copy(sig[:], b[32:])
	return record.NewSignedPreKey(id, created, ecc.CreateKeyPair(b[:32]), sig, serializer.SignedPreKeyRecord), nil
}
