package omemo2

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

// An identity from a Curve25519 key signs what ed25519.Verify accepts,
// and its fingerprint is the Curve25519 public key (the one OMEMO 0.3
// shows for the same key).
func TestIdentityFromX25519(t *testing.T) {
	for range 20 {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := IdentityFromX25519(k.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		spk, err := GenerateSignedPreKey(id, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(id.Public(), spk.Public(), spk.Signature) {
			t.Fatal("signature does not verify")
		}
		b := NewBundle(id, spk, nil)
		if err := b.Verify(); err != nil {
			t.Fatal(err)
		}
		want := hex.EncodeToString(k.PublicKey().Bytes())
		if got := strings.ReplaceAll(id.Fingerprint(), " ", ""); got != want {
			t.Fatalf("fingerprint %s, want %s", got, want)
		}
		if id.Seed() != nil {
			t.Fatal("seed of a Curve25519 identity")
		}
	}
	if _, err := IdentityFromX25519(make([]byte, 31)); err == nil {
		t.Fatal("short key accepted")
	}
}

// Two sessions between a seed identity and a Curve25519 identity work
// both ways.
func TestX25519IdentitySession(t *testing.T) {
	k, _ := ecdh.X25519().GenerateKey(rand.Reader)
	alice, err := IdentityFromX25519(k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := NewIdentity()
	for _, pair := range [][2]*Identity{{alice, bob}, {bob, alice}} {
		a, b := pair[0], pair[1]
		spk, _ := GenerateSignedPreKey(b, 1)
		pks, _ := GeneratePreKeys(1, 1)
		s, err := InitiateSession(a, NewBundle(b, spk, pks))
		if err != nil {
			t.Fatal(err)
		}
		_, km, _ := Seal([]byte("hi"))
		wire, kex, err := s.EncryptKey(km)
		if err != nil || !kex {
			t.Fatal(err, kex)
		}
		kx, err := ParseKeyExchange(wire)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := RespondSession(b, kx, spk, pks[0])
		if err != nil || string(got) != string(km) {
			t.Fatal("respond:", err)
		}
	}
}
