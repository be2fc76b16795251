package omemo2

// An identity that exists as a Curve25519 private key: the account's
// OMEMO 0.3 identity (libsignal), which OMEMO 2 shares, as python-omemo
// and Conversations do, so that both versions show one fingerprint. Its
// Ed25519 form is the same scalar times the Ed25519 base point, and it
// signs with EdDSA over that scalar and a random nonce (the signing of
// XEdDSA without the sign-bit forcing, which OMEMO 2 does not need: the
// Ed25519 public key is published as it is). Signatures verify with
// crypto/ed25519 like those of a seed-based key.

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
)

type montIdentity struct {
	a     *edwards25519.Scalar
	edPub []byte
	x     *ecdh.PrivateKey
}

// IdentityFromX25519 makes the identity from a 32-byte Curve25519
// private key (clamped as RFC 7748 does before use).
func IdentityFromX25519(priv []byte) (*Identity, error) {
	if len(priv) != 32 {
		return nil, fmt.Errorf("identity key: want 32 bytes, got %d", len(priv))
	}
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(priv)
	if err != nil {
		return nil, fmt.Errorf("identity key: %w", err)
	}
	x, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("identity key: %w", err)
	}
	pub := new(edwards25519.Point).ScalarBaseMult(a).Bytes()
	return &Identity{mont: &montIdentity{a: a, edPub: pub, x: x}}, nil
}

// sign returns the identity's Ed25519 signature of msg.
func (id *Identity) sign(msg []byte) []byte {
	if id.mont == nil {
		return ed25519.Sign(id.priv, msg)
	}
	m := id.mont
	var z [64]byte
	if _, err := rand.Read(z[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // no randomness: nothing is safe
	}
	// r = H(a || msg || Z): a secret, never repeated nonce.
	h := sha512.New()
	h.Write(m.a.Bytes())
	h.Write(msg)
	h.Write(z[:])
	r, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	if err != nil {
		panic(err) // unreachable: 64 bytes
	}
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h.Reset()
	h.Write(R)
	h.Write(m.edPub)
	h.Write(msg)
	k, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	if err != nil {
		panic(err) // unreachable
	}
	s := new(edwards25519.Scalar).MultiplyAdd(k, m.a, r)
	return append(R, s.Bytes()...)
}
