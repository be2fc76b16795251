package omemo2

import (
	"crypto/ed25519"
	"regexp"
	"testing"
)

func signForTest(id *Identity, msg []byte) []byte { return ed25519.Sign(id.priv, msg) }

func TestIdentity(t *testing.T) {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	again, err := IdentityFromSeed(id.Seed())
	if err != nil || string(again.Public()) != string(id.Public()) {
		t.Fatalf("identity does not survive its seed: %v", err)
	}
	if _, err := IdentityFromSeed(make([]byte, 31)); err == nil {
		t.Fatal("short seed accepted")
	}
	// The X25519 form used for DH matches the converted public key.
	x, err := montgomery(id.Public())
	if err != nil || string(x) != string(id.x25519().PublicKey().Bytes()) {
		t.Fatal("Ed25519 -> X25519 conversion disagrees with the private key's")
	}
	if fp := id.Fingerprint(); !regexp.MustCompile(`^([0-9a-f]{8} ){7}[0-9a-f]{8}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q not in 8 groups of 8 hex digits", fp)
	}
	if _, err := Fingerprint(make([]byte, 5)); err == nil {
		t.Fatal("fingerprint of a short key")
	}
}

func TestPreKeys(t *testing.T) {
	id, _ := NewIdentity()
	spk, err := GenerateSignedPreKey(id, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(id.Public(), spk.Public(), spk.Signature) {
		t.Fatal("signed prekey signature does not verify over its public key")
	}
	pks, err := GeneratePreKeys(MaxID-1, 2)
	if err != nil || len(pks) != 2 || pks[1].ID != MaxID {
		t.Fatalf("prekeys %v, %v", pks, err)
	}
	for _, bad := range []struct {
		first uint32
		n     int
	}{{0, 1}, {MaxID, 2}} {
		if _, err := GeneratePreKeys(bad.first, bad.n); err == nil {
			t.Errorf("GeneratePreKeys(%d, %d) accepted", bad.first, bad.n)
		}
	}
	if _, err := GenerateSignedPreKey(id, 0); err == nil {
		t.Error("signed prekey id 0 accepted")
	}
	for i := 0; i < 100; i++ {
		d, err := NewDeviceID()
		if err != nil || d == 0 || d > MaxID {
			t.Fatalf("device id %d, %v", d, err)
		}
	}
}
