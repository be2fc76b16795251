package omemo2

// The Double Ratchet with XEP-0384's parameters (section "Double
// Ratchet"); no header encryption, the header travels in clear inside the
// authenticated OMEMOMessage:
//
//	KDF_RK(rk, dh_out) = HKDF-SHA-256(salt=rk, ikm=dh_out, info="OMEMO Root Chain") -> 64 bytes:
//	                     new root key || chain key
//	KDF_CK(ck)         = HMAC-SHA-256(ck, 0x02) is the next chain key,
//	                     HMAC-SHA-256(ck, 0x01) the message key
//	ENCRYPT(mk, pt, ad) = HKDF-SHA-256(salt=32 zero bytes, ikm=mk,
//	                     info="OMEMO Message Key Material") -> 80 bytes:
//	                     AES-256 key || HMAC key || IV; AES-256-CBC/PKCS#7;
//	                     tag = HMAC-SHA-256(ad || OMEMOMessage)[:16]

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Limits on skipped message keys (XEP-0384 recommends 1000 for both).
const (
	// MaxSkip is the largest number of message keys one message may skip.
	MaxSkip = 1000
	// MaxSkipped is the number of skipped message keys a session keeps;
	// older ones are dropped first.
	MaxSkipped = 1000
)

// Errors of message decryption; wrapped, test with errors.Is.
var (
	// ErrAuth means the message failed authentication: tampered, forged or
	// meant for another session.
	ErrAuth = errors.New("message authentication failed")
	// ErrDuplicate means the message key was already used or dropped: a
	// replayed or very old message.
	ErrDuplicate = errors.New("duplicate or expired message")
	// ErrTooManySkipped means the message claims to skip more than MaxSkip
	// messages.
	ErrTooManySkipped = errors.New("too many skipped messages")
)

const (
	infoRoot       = "OMEMO Root Chain"
	infoMessageKey = "OMEMO Message Key Material"
	infoPayload    = "OMEMO Payload"
	infoX3DH       = "OMEMO X3DH"
)

type skippedKey struct {
	dh [keyLen]byte
	n  uint32
	mk [32]byte
}

// ratchet is the Double Ratchet state of one session.
type ratchet struct {
	rk      []byte
	dhs     []byte // our ratchet private key (X25519)
	dhr     []byte // their ratchet public key; nil until the responder's first receive
	cks     []byte // nil until we can send
	ckr     []byte // nil until we received
	ns      uint32
	nr      uint32
	pn      uint32
	skipped []skippedKey
	old     [][]byte // their previous ratchet keys, newest last, to recognise replays
}

// maxOld is the number of previous ratchet keys of the peer a session
// remembers to report replays on old chains as ErrDuplicate.
const maxOld = 20

func (r *ratchet) clone() *ratchet {
	c := *r
	c.rk = bytes.Clone(r.rk)
	c.dhs = bytes.Clone(r.dhs)
	c.dhr = bytes.Clone(r.dhr)
	c.cks = bytes.Clone(r.cks)
	c.ckr = bytes.Clone(r.ckr)
	c.skipped = append([]skippedKey(nil), r.skipped...)
	c.old = append([][]byte(nil), r.old...)
	return &c
}

func kdfRK(rk, dhOut []byte) (root, chain []byte) {
	out, err := hkdf.Key(sha256.New, dhOut, rk, infoRoot, 64)
	if err != nil {
		panic(err) // unreachable: 64 bytes is within HKDF-SHA-256's limit
	}
	return out[:32], out[32:]
}

func kdfCK(ck []byte) (next, mk []byte) {
	h := hmac.New(sha256.New, ck)
	h.Write([]byte{0x02})
	next = h.Sum(nil)
	h = hmac.New(sha256.New, ck)
	h.Write([]byte{0x01})
	return next, h.Sum(nil)
}

func dh(priv, pub []byte) ([]byte, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	// ECDH fails on low-order points (all-zero output): a hostile key.
	return k.ECDH(p)
}

func publicOf(priv []byte) []byte { return PreKey{Private: priv}.Public() }

// newRatchetKey returns a fresh X25519 private key.
func newRatchetKey() ([]byte, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return k.Bytes(), nil
}

// initActive starts the initiator's ratchet from the X3DH secret and the
// responder's signed prekey (its first ratchet public key).
func initActive(sk, spkPub []byte) (*ratchet, error) {
	priv, err := newRatchetKey()
	if err != nil {
		return nil, err
	}
	out, err := dh(priv, spkPub)
	if err != nil {
		return nil, err
	}
	rk, cks := kdfRK(sk, out)
	return &ratchet{rk: rk, dhs: priv, dhr: bytes.Clone(spkPub), cks: cks}, nil
}

// initPassive starts the responder's ratchet: its ratchet key is the
// signed prekey, and it sends only after the first receive.
func initPassive(sk, spkPriv []byte) *ratchet {
	return &ratchet{rk: bytes.Clone(sk), dhs: bytes.Clone(spkPriv)}
}

// encrypt returns the OMEMOAuthenticatedMessage for plaintext.
func (r *ratchet) encrypt(plaintext, ad []byte) ([]byte, error) {
	if r.cks == nil {
		return nil, errors.New("session cannot send before it received a message")
	}
	next, mk := kdfCK(r.cks)
	am := seal(mk, ad, &message{N: r.ns, PN: r.pn, DHPub: publicOf(r.dhs)}, plaintext)
	r.cks = next
	r.ns++
	return am, nil
}

// seal is ENCRYPT(mk, plaintext, CONCAT(ad, header)): it fills in the
// ciphertext of m, serializes m once and authenticates ad || m.
func seal(mk, ad []byte, m *message, plaintext []byte) []byte {
	encKey, authKey, iv := deriveKeys(mk, infoMessageKey)
	m.Ciphertext = cbcEncrypt(encKey, iv, plaintext)
	mb := m.marshal()
	return (&authMessage{MAC: tag(authKey, ad, mb), Message: mb}).marshal()
}

// decrypt opens an OMEMOAuthenticatedMessage; r is changed even on
// failure, so the caller works on a clone and keeps it only on success.
func (r *ratchet) decrypt(wire, ad []byte) ([]byte, error) {
	am, err := parseAuthMessage(wire)
	if err != nil {
		return nil, err
	}
	m, err := parseMessage(am.Message)
	if err != nil {
		return nil, err
	}
	if m.Ciphertext == nil {
		return nil, fmt.Errorf("parse OMEMOMessage: %w: no ciphertext", errProto)
	}
	if mk := r.takeSkipped(m.DHPub, m.N); mk != nil {
		return open(mk, ad, am, m)
	}
	for _, k := range r.old {
		if bytes.Equal(k, m.DHPub) {
			return nil, ErrDuplicate
		}
	}
	// A receiving chain exists only after a step; the initiator's dhr (the
	// peer's signed prekey) never had one, so a message under it steps too
	// and then fails authentication.
	if r.ckr == nil || !bytes.Equal(m.DHPub, r.dhr) {
		if r.ckr != nil {
			// Like python-omemo, more than MaxSkip keys left behind on the
			// old chain are given up rather than failing this message.
			if err := r.skip(m.PN); err != nil && !errors.Is(err, ErrTooManySkipped) {
				return nil, err
			}
		}
		if err := r.step(m.DHPub); err != nil {
			return nil, err
		}
	}
	if m.N < r.nr {
		return nil, ErrDuplicate
	}
	if err := r.skip(m.N); err != nil {
		return nil, err
	}
	next, mk := kdfCK(r.ckr)
	r.ckr = next
	r.nr++
	return open(mk, ad, am, m)
}

// step is the Diffie-Hellman ratchet step on a new ratchet key of theirs.
func (r *ratchet) step(theirs []byte) error {
	if r.dhr != nil {
		r.old = append(r.old, r.dhr)
		if len(r.old) > maxOld {
			r.old = r.old[1:]
		}
	}
	r.pn, r.ns, r.nr = r.ns, 0, 0
	r.dhr = bytes.Clone(theirs)
	out, err := dh(r.dhs, r.dhr)
	if err != nil {
		return fmt.Errorf("ratchet key: %w", err)
	}
	r.rk, r.ckr = kdfRK(r.rk, out)
	if r.dhs, err = newRatchetKey(); err != nil {
		return err
	}
	if out, err = dh(r.dhs, r.dhr); err != nil {
		return err
	}
	r.rk, r.cks = kdfRK(r.rk, out)
	return nil
}

// skip stores the message keys of the current receiving chain up to until.
func (r *ratchet) skip(until uint32) error {
	if until <= r.nr {
		return nil
	}
	if until-r.nr > MaxSkip {
		return ErrTooManySkipped
	}
	for r.nr < until {
		next, mk := kdfCK(r.ckr)
		k := skippedKey{n: r.nr}
		copy(k.dh[:], r.dhr)
		copy(k.mk[:], mk)
		r.skipped = append(r.skipped, k)
		r.ckr = next
		r.nr++
	}
	if over := len(r.skipped) - MaxSkipped; over > 0 {
		r.skipped = append(r.skipped[:0:0], r.skipped[over:]...)
	}
	return nil
}

func (r *ratchet) takeSkipped(dhPub []byte, n uint32) []byte {
	for i, k := range r.skipped {
		if k.n == n && bytes.Equal(k.dh[:], dhPub) {
			r.skipped = append(r.skipped[:i:i], r.skipped[i+1:]...)
			return bytes.Clone(k.mk[:])
		}
	}
	return nil
}

// open verifies the tag of am and decrypts the ciphertext of m.
func open(mk, ad []byte, am *authMessage, m *message) ([]byte, error) {
	encKey, authKey, iv := deriveKeys(mk, infoMessageKey)
	if subtle.ConstantTimeCompare(tag(authKey, ad, am.Message), am.MAC) != 1 {
		return nil, ErrAuth
	}
	pt, err := cbcDecrypt(encKey, iv, m.Ciphertext)
	if err != nil {
		return nil, ErrAuth
	}
	return pt, nil
}

// deriveKeys expands a message key (or payload key) into an AES-256 key,
// an HMAC-SHA-256 key and a CBC IV.
func deriveKeys(key []byte, info string) (encKey, authKey, iv []byte) {
	out, err := hkdf.Key(sha256.New, key, make([]byte, 32), info, 80)
	if err != nil {
		panic(err) // unreachable: 80 bytes is within HKDF-SHA-256's limit
	}
	return out[:32], out[32:64], out[64:]
}

// tag is HMAC-SHA-256 over the concatenated parts, truncated to 16 bytes.
func tag(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)[:macLen]
}

func cbcEncrypt(key, iv, plaintext []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // unreachable: the key is always 32 bytes
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf
}

var errPadding = errors.New("bad padding")

// cbcDecrypt is only ever called after the tag was verified, so padding
// errors reveal nothing an attacker could use.
func cbcDecrypt(key, iv, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, errPadding
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, ciphertext)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, errPadding
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, errPadding
		}
	}
	return buf[:len(buf)-pad], nil
}
