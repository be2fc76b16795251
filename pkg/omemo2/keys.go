package omemo2

// Key material of one device. OMEMO 2 transfers the identity key in its
// Ed25519 form and signs with EdDSA, so the identity is an Ed25519 key
// pair; X3DH needs it as an X25519 key, obtained by the birational map of
// RFC 7748 (public, through filippo.io/edwards25519) and by hashing the
// seed as RFC 8032 does (private), which is what libsodium's
// crypto_sign_ed25519_{pk,sk}_to_curve25519 compute.

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"filippo.io/edwards25519"
)

// MaxID is the largest device, signed prekey or prekey id (2^31 - 1).
const MaxID = 1<<31 - 1

// Identity is a device's long-term identity key pair.
type Identity struct {
	priv ed25519.PrivateKey
	// mont is set instead of priv for an identity that exists as a
	// Curve25519 private key (one shared with OMEMO 0.3): see
	// IdentityFromX25519.
	mont *montIdentity
}

// NewIdentity generates a random identity key pair.
func NewIdentity() (*Identity, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	return IdentityFromSeed(seed)
}

// IdentityFromSeed restores an identity from the 32 bytes returned by Seed.
func IdentityFromSeed(seed []byte) (*Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("identity seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	return &Identity{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Seed returns the 32-byte secret from which the identity is derived: the
// only thing to store to keep the identity.
// It is nil for an identity made by IdentityFromX25519.
func (id *Identity) Seed() []byte {
	if id.mont != nil {
		return nil
	}
	return id.priv.Seed()
}

// Public returns the Ed25519 public key, as published in the bundle's <ik>.
func (id *Identity) Public() []byte {
	if id.mont != nil {
		return append([]byte(nil), id.mont.edPub...)
	}
	return append([]byte(nil), id.priv.Public().(ed25519.PublicKey)...)
}

// Fingerprint returns the fingerprint of the identity, see Fingerprint.
func (id *Identity) Fingerprint() string {
	fp, _ := Fingerprint(id.Public()) // our own key is always a valid point
	return fp
}

// x25519 returns the identity as an X25519 private key.
func (id *Identity) x25519() *ecdh.PrivateKey {
	if id.mont != nil {
		return id.mont.x
	}
	h := sha512.Sum512(id.priv.Seed())
	// crypto/ecdh clamps the scalar as RFC 7748 requires.
	k, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil {
		panic(err) // unreachable: any 32 bytes are a valid X25519 private key
	}
	return k
}

// Fingerprint returns the fingerprint of an Ed25519 identity key as
// XEP-0384 recommends: the key's Curve25519 form (the same bytes OMEMO 0.3
// clients show for the key), lowercase hex, in 8 groups of 8 characters.
func Fingerprint(identityKey []byte) (string, error) {
	x, err := montgomery(identityKey)
	if err != nil {
		return "", err
	}
	h := hex.EncodeToString(x)
	groups := make([]string, 0, 8)
	for i := 0; i < len(h); i += 8 {
		groups = append(groups, h[i:i+8])
	}
	return strings.Join(groups, " "), nil
}

var errIdentityKey = errors.New("invalid identity key")

// montgomery converts an Ed25519 public key to its X25519 form.
func montgomery(edPub []byte) ([]byte, error) {
	if len(edPub) != ed25519.PublicKeySize {
		return nil, errIdentityKey
	}
	p, err := new(edwards25519.Point).SetBytes(edPub)
	if err != nil {
		return nil, errIdentityKey
	}
	return p.BytesMontgomery(), nil
}

// PreKey is a one-time X25519 prekey.
type PreKey struct {
	ID      uint32
	Private []byte // 32 bytes, X25519
}

// Public returns the X25519 public key.
func (k PreKey) Public() []byte {
	p, err := ecdh.X25519().NewPrivateKey(k.Private)
	if err != nil {
		return nil
	}
	return p.PublicKey().Bytes()
}

// SignedPreKey is the medium-term X25519 prekey, signed by the identity.
type SignedPreKey struct {
	ID        uint32
	Private   []byte // 32 bytes, X25519
	Signature []byte // Ed25519 signature of the X25519 public key by the identity
}

// Public returns the X25519 public key.
func (k SignedPreKey) Public() []byte { return PreKey{Private: k.Private}.Public() }

// GenerateSignedPreKey makes a new signed prekey with the given id; the
// signature is the identity's Ed25519 signature over the 32-byte X25519
// public key (XEP-0384's Sig(IK, Encode(SPK))).
func GenerateSignedPreKey(id *Identity, keyID uint32) (SignedPreKey, error) {
	if keyID == 0 || keyID > MaxID {
		return SignedPreKey{}, fmt.Errorf("signed prekey id %d out of range", keyID)
	}
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return SignedPreKey{}, fmt.Errorf("generate signed prekey: %w", err)
	}
	return SignedPreKey{
		ID:        keyID,
		Private:   k.Bytes(),
		Signature: id.sign(k.PublicKey().Bytes()),
	}, nil
}

// GeneratePreKeys makes n one-time prekeys numbered first, first+1, ...
func GeneratePreKeys(first uint32, n int) ([]PreKey, error) {
	if first == 0 || n < 0 || uint64(first)+uint64(n)-1 > MaxID {
		return nil, fmt.Errorf("prekey ids %d..%d out of range", first, int64(first)+int64(n)-1)
	}
	keys := make([]PreKey, n)
	for i := range keys {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate prekey: %w", err)
		}
		keys[i] = PreKey{ID: first + uint32(i), Private: k.Bytes()}
	}
	return keys, nil
}

// NewDeviceID returns a random device id between 1 and 2^31-1. The caller
// checks it against the account's device list before publishing it.
func NewDeviceID() (uint32, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("generate device id: %w", err)
		}
		if id := binary.BigEndian.Uint32(b[:]) & MaxID; id != 0 {
			return id, nil
		}
	}
}
