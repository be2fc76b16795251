package omemo2

// X3DH (XEP-0384 section "Key Exchange": X25519, SHA-256, info "OMEMO
// X3DH", Ed25519 identity keys converted for DH, AD = IK_A || IK_B in
// Ed25519 form) and the session built on it.

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
)

// StaleAfter is XEP-0384's threshold: once more than this many messages
// were received on one receiving chain without the peer ratcheting, the
// receiver sends an empty message (a heartbeat) to move the ratchet on.
const StaleAfter = 53

// Session is the Double Ratchet session with one device of a peer. It is
// not safe for concurrent use. Store it with MarshalBinary after every
// EncryptKey and DecryptKey, in the same transaction that records the
// message, so that a crash never loses a ratchet step a sent message used.
type Session struct {
	r         *ratchet
	ad        []byte // IK_A || IK_B, Ed25519 form
	peerIK    []byte // Ed25519 identity key of the peer device
	ek        []byte // X3DH ephemeral public key of the session's key exchange
	initiator bool
	confirmed bool // the initiator received a message: stop sending key exchanges
	pkID      uint32
	spkID     uint32
}

// ErrBundle means a bundle cannot be used to start a session.
var ErrBundle = errors.New("unusable bundle")

// InitiateSession runs the active side of X3DH against a peer's bundle: it
// checks the signed prekey's signature, picks a random one-time prekey,
// and returns a session whose messages carry an OMEMOKeyExchange until
// the peer answers.
func InitiateSession(us *Identity, theirs *Bundle) (*Session, error) {
	if len(theirs.PreKeys) == 0 {
		return nil, fmt.Errorf("%w: no prekeys", ErrBundle)
	}
	if err := theirs.Verify(); err != nil {
		return nil, err
	}
	ikB, err := montgomery(theirs.IdentityKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	i, err := rand.Int(rand.Reader, big.NewInt(int64(len(theirs.PreKeys))))
	if err != nil {
		return nil, err
	}
	pk := theirs.PreKeys[i.Int64()]
	ek, err := newRatchetKey()
	if err != nil {
		return nil, err
	}
	ikA := us.x25519().Bytes()
	dhs, err := dhAll([][2][]byte{
		{ikA, theirs.SignedPreKey},
		{ek, ikB},
		{ek, theirs.SignedPreKey},
		{ek, pk.Key},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	sk := x3dhSecret(dhs)
	r, err := initActive(sk, theirs.SignedPreKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	return &Session{
		r:         r,
		ad:        concat(us.Public(), theirs.IdentityKey),
		peerIK:    bytes.Clone(theirs.IdentityKey),
		ek:        publicOf(ek),
		initiator: true,
		pkID:      pk.ID,
		spkID:     theirs.SignedPreKeyID,
	}, nil
}

// RespondSession runs the passive side of X3DH for a received key
// exchange, with the signed prekey and one-time prekey it names (see
// ParseKeyExchange), and decrypts the message it carries. On success the
// caller stores the session, deletes the prekey (kx.PreKeyID) and
// republishes its bundle; on error nothing has changed.
func RespondSession(us *Identity, kx *KeyExchange, spk SignedPreKey, pk PreKey) (*Session, []byte, error) {
	if spk.ID != kx.SignedPreKeyID || pk.ID != kx.PreKeyID {
		return nil, nil, errors.New("key exchange: prekey ids do not match")
	}
	ikA, err := montgomery(kx.IdentityKey)
	if err != nil {
		return nil, nil, fmt.Errorf("key exchange: %w", err)
	}
	dhs, err := dhAll([][2][]byte{
		{spk.Private, ikA},
		{us.x25519().Bytes(), kx.EphemeralKey},
		{spk.Private, kx.EphemeralKey},
		{pk.Private, kx.EphemeralKey},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("key exchange: %w", err)
	}
	s := &Session{
		r:      initPassive(x3dhSecret(dhs), spk.Private),
		ad:     concat(kx.IdentityKey, us.Public()),
		peerIK: bytes.Clone(kx.IdentityKey),
		ek:     bytes.Clone(kx.EphemeralKey),
		pkID:   kx.PreKeyID,
		spkID:  kx.SignedPreKeyID,
	}
	pt, err := s.DecryptKey(kx.Message)
	if err != nil {
		return nil, nil, err
	}
	return s, pt, nil
}

func dhAll(pairs [][2][]byte) ([]byte, error) {
	out := bytes.Repeat([]byte{0xff}, 32)
	for _, p := range pairs {
		d, err := dh(p[0], p[1])
		if err != nil {
			return nil, err
		}
		out = append(out, d...)
	}
	return out, nil
}

// x3dhSecret is KDF(F || DH1 || DH2 || DH3 || DH4) of the X3DH
// specification, F being 32 0xFF bytes (already at the start of dhs).
func x3dhSecret(dhs []byte) []byte {
	sk, err := hkdf.Key(sha256.New, dhs, make([]byte, 32), infoX3DH, 32)
	if err != nil {
		panic(err) // unreachable
	}
	return sk
}

func concat(a, b []byte) []byte { return append(bytes.Clone(a), b...) }

// EncryptKey encrypts key material (48 bytes from Seal, or EmptyKey) for
// the peer device. kex reports that wire is an OMEMOKeyExchange (the <key>
// element gets kex='true'), which is the case on the initiator's side
// until the peer's first message arrived.
func (s *Session) EncryptKey(keyMaterial []byte) (wire []byte, kex bool, err error) {
	am, err := s.r.encrypt(keyMaterial, s.ad)
	if err != nil {
		return nil, false, err
	}
	if !s.initiator || s.confirmed {
		return am, false, nil
	}
	k := &KeyExchange{
		PreKeyID:       s.pkID,
		SignedPreKeyID: s.spkID,
		IdentityKey:    s.ad[:keyLen],
		EphemeralKey:   s.ek,
		Message:        am,
	}
	return k.marshal(), true, nil
}

// DecryptKey decrypts an OMEMOAuthenticatedMessage (a <key> without kex,
// or KeyExchange.Message of a key exchange that SameKeyExchange accepts).
// On error the session is unchanged: a tampered, replayed or foreign
// message cannot break it.
func (s *Session) DecryptKey(wire []byte) ([]byte, error) {
	r := s.r.clone()
	pt, err := r.decrypt(wire, s.ad)
	if err != nil {
		return nil, fmt.Errorf("decrypt key: %w", err)
	}
	s.r = r
	s.confirmed = true
	return pt, nil
}

// SameKeyExchange reports whether kx is a repetition of the key exchange
// that built this session (same identity and ephemeral key): its message
// then goes to DecryptKey. Otherwise the peer started a new session, which
// RespondSession builds to replace this one.
func (s *Session) SameKeyExchange(kx *KeyExchange) bool {
	return bytes.Equal(kx.EphemeralKey, s.ek) && bytes.Equal(kx.IdentityKey, s.peerIK)
}

// PeerIdentity returns the peer device's Ed25519 identity key, for the
// trust decision and its fingerprint.
func (s *Session) PeerIdentity() []byte { return bytes.Clone(s.peerIK) }

// PreKeyID returns the id of the one-time prekey the session's key
// exchange used.
func (s *Session) PreKeyID() uint32 { return s.pkID }

// Confirmed reports whether the session is known to be established on
// both sides: always for the responder, for the initiator once it
// received a message; until then EncryptKey returns key exchanges.
func (s *Session) Confirmed() bool { return !s.initiator || s.confirmed }

// Stale reports that more than StaleAfter messages arrived on the current
// receiving chain: the caller answers with an empty message (EmptyKey).
func (s *Session) Stale() bool { return s.r.nr > StaleAfter }
