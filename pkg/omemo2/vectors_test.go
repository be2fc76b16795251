package omemo2

// Known-answer tests against testdata/vectors.json, computed by python-omemo's
// twomemo backend (see testdata/gen_vectors.py): XEP-0384 itself has no
// test vectors, so an independent implementation's outputs stand in.

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

type vectors struct {
	Identity struct {
		Seed          hexBytes `json:"seed"`
		Ed25519Pub    hexBytes `json:"ed25519_pub"`
		Curve25519Pub hexBytes `json:"curve25519_pub"`
		OtherPriv     hexBytes `json:"other_priv"`
		OtherPub      hexBytes `json:"other_pub"`
		Shared        hexBytes `json:"shared"`
	} `json:"identity"`
	KDFRK struct {
		RK    hexBytes `json:"rk"`
		DHOut hexBytes `json:"dh_out"`
		Out   hexBytes `json:"out"`
	} `json:"kdf_rk"`
	KDFCK struct {
		CK  hexBytes `json:"ck"`
		Out hexBytes `json:"out"`
	} `json:"kdf_ck"`
	Message struct {
		MK                   hexBytes `json:"mk"`
		AD                   hexBytes `json:"ad"`
		DHPub                hexBytes `json:"dh_pub"`
		Plaintext            hexBytes `json:"plaintext"`
		AuthenticatedMessage hexBytes `json:"authenticated_message"`
		N                    uint32   `json:"n"`
		PN                   uint32   `json:"pn"`
	} `json:"message"`
	Payload struct {
		Key        hexBytes `json:"key"`
		AuthTag    hexBytes `json:"auth_tag"`
		Plaintext  hexBytes `json:"plaintext"`
		Ciphertext hexBytes `json:"ciphertext"`
	} `json:"payload"`
}

func loadVectors(t *testing.T) *vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func TestVectorIdentity(t *testing.T) {
	v := loadVectors(t).Identity
	id, err := IdentityFromSeed(v.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id.Public(), v.Ed25519Pub) {
		t.Errorf("Ed25519 public key %x, want %x", id.Public(), []byte(v.Ed25519Pub))
	}
	x, err := montgomery(id.Public())
	if err != nil || !bytes.Equal(x, v.Curve25519Pub) {
		t.Errorf("Curve25519 form %x (%v), want %x", x, err, []byte(v.Curve25519Pub))
	}
	if got := id.x25519().PublicKey().Bytes(); !bytes.Equal(got, v.Curve25519Pub) {
		t.Errorf("X25519 key from the seed has public key %x, want %x", got, []byte(v.Curve25519Pub))
	}
	shared, err := dh(id.x25519().Bytes(), v.OtherPub)
	if err != nil || !bytes.Equal(shared, v.Shared) {
		t.Errorf("X25519 with the identity: %x (%v), want %x", shared, err, []byte(v.Shared))
	}
	other, err := ecdh.X25519().NewPrivateKey(v.OtherPriv)
	if err != nil || !bytes.Equal(other.PublicKey().Bytes(), v.OtherPub) {
		t.Errorf("X25519 public key mismatch: %v", err)
	}
	fp, _ := Fingerprint(id.Public())
	if want := "4a3807d0 64d07718 1cc07098 9e76891d 20dca555 9548dc2c 77c1a502 73882b38"; fp != want {
		t.Errorf("fingerprint %q, want %q", fp, want)
	}
}

func TestVectorKDFs(t *testing.T) {
	v := loadVectors(t)
	root, chain := kdfRK(v.KDFRK.RK, v.KDFRK.DHOut)
	if got := append(root, chain...); !bytes.Equal(got, v.KDFRK.Out) {
		t.Errorf("KDF_RK = %x, want %x", got, []byte(v.KDFRK.Out))
	}
	next, mk := kdfCK(v.KDFCK.CK)
	if got := append(next, mk...); !bytes.Equal(got, v.KDFCK.Out) {
		t.Errorf("KDF_CK = %x, want %x", got, []byte(v.KDFCK.Out))
	}
}

func TestVectorMessage(t *testing.T) {
	v := loadVectors(t).Message
	m := &message{N: v.N, PN: v.PN, DHPub: v.DHPub}
	got := seal(v.MK, v.AD, m, v.Plaintext)
	if !bytes.Equal(got, v.AuthenticatedMessage) {
		t.Fatalf("OMEMOAuthenticatedMessage\n got %x\nwant %x", got, []byte(v.AuthenticatedMessage))
	}
	am, err := parseAuthMessage(v.AuthenticatedMessage)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := parseMessage(am.Message)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := open(v.MK, v.AD, am, pm)
	if err != nil || !bytes.Equal(pt, v.Plaintext) {
		t.Fatalf("open: %x, %v", pt, err)
	}
}

func TestVectorPayload(t *testing.T) {
	v := loadVectors(t).Payload
	payload, km := sealWithKey(v.Key, v.Plaintext)
	if !bytes.Equal(payload, v.Ciphertext) || !bytes.Equal(km, append(bytes.Clone(v.Key), v.AuthTag...)) {
		t.Fatalf("payload %x key material %x", payload, km)
	}
	pt, err := Open(v.Ciphertext, append(bytes.Clone(v.Key), v.AuthTag...))
	if err != nil || !bytes.Equal(pt, v.Plaintext) {
		t.Fatalf("Open: %q, %v", pt, err)
	}
}
