package aesgcm

// The streaming GCM core: a keystream (CTR from J0+1 with the inc32
// counter of SP 800-38D) and a GHASH over the ciphertext, fed as the bytes
// pass. The associated data is always empty, as in XEP-0454.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of XEP-0454's parameters.
const (
	KeySize      = 32 // AES-256
	IVSize       = 12 // what senders generate
	LegacyIVSize = 16 // what early clients generated; accepted when decrypting
	TagSize      = 16 // appended after the ciphertext
)

// MaxPlaintext is GCM's limit for one message: 2^32-2 blocks (64 GiB).
const MaxPlaintext = (1<<32 - 2) * 16

// ErrAuth reports ciphertext or tag that fails authentication: the file
// was altered, truncated, or the key is wrong.
var ErrAuth = errors.New("aes-gcm: authentication failed (the file was altered or the key is wrong)")

// ErrTooLarge reports data past GCM's length limit.
var ErrTooLarge = errors.New("aes-gcm: more than 64 GiB in one message")

// state is one GCM message in progress.
type state struct {
	ks   keystream
	g    *ghash
	ekj0 [16]byte // E(K, J0), masks the tag
	n    uint64   // plaintext/ciphertext bytes so far
}

func newState(key, iv []byte) (*state, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("aes-gcm: key is %d bytes, want %d", len(key), KeySize)
	}
	if len(iv) != IVSize && len(iv) != LegacyIVSize {
		return nil, fmt.Errorf("aes-gcm: iv is %d bytes, want %d (or %d)", len(iv), IVSize, LegacyIVSize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := newGHASH(b)
	if err != nil {
		return nil, err
	}
	var j0 [16]byte
	if len(iv) == 12 {
		copy(j0[:], iv) // J0 = IV || 0^31 || 1
		j0[15] = 1
	} else {
		j0 = j0Long(g.h, iv) // one whole block: no padding
	}
	s := &state{g: g}
	b.Encrypt(s.ekj0[:], j0[:])
	s.ks.init(b, j0)
	return s, nil
}

// advance accounts for n more bytes, refusing to go past the GCM limit.
func (s *state) advance(n int) error {
	if s.n+uint64(n) > MaxPlaintext {
		return ErrTooLarge
	}
	s.n += uint64(n)
	return nil
}

func (s *state) tag() [16]byte {
	t := s.g.sum(s.n * 8)
	subtle.XORBytes(t[:], t[:], s.ekj0[:])
	return t
}

// keystream is CTR mode with GCM's inc32: only the low 32 bits of the
// counter block count, wrapping without carrying into the rest.
// crypto/cipher's CTR increments the whole block as one big-endian number,
// which is the same until the low 32 bits wrap; so the stream is restarted
// at each wrap. With a 12-byte IV that never happens within MaxPlaintext;
// a 16-byte IV gives J0 any low 32 bits, and it can.
type keystream struct {
	b    cipher.Block
	ctr  [16]byte
	s    cipher.Stream
	left uint64 // bytes until the low 32 bits wrap
}

func (k *keystream) init(b cipher.Block, j0 [16]byte) {
	k.b = b
	k.ctr = j0
	low := binary.BigEndian.Uint32(k.ctr[12:]) + 1 // inc32(J0)
	binary.BigEndian.PutUint32(k.ctr[12:], low)
	k.s = cipher.NewCTR(b, k.ctr[:])
	k.left = (1<<32 - uint64(low)) * 16
}

func (k *keystream) xor(dst, src []byte) {
	for len(src) > 0 {
		if k.left == 0 {
			binary.BigEndian.PutUint32(k.ctr[12:], 0)
			k.s = cipher.NewCTR(k.b, k.ctr[:])
			k.left = 1 << 32 * 16
		}
		n := len(src)
		if uint64(n) > k.left {
			n = int(k.left)
		}
		k.s.XORKeyStream(dst[:n], src[:n])
		k.left -= uint64(n)
		dst, src = dst[n:], src[n:]
	}
}

// seal encrypts p in place.
func (s *state) seal(p []byte) error {
	if err := s.advance(len(p)); err != nil {
		return err
	}
	s.ks.xor(p, p)
	s.g.write(p)
	return nil
}

// open decrypts src into dst (same length; they may be the same slice).
func (s *state) open(dst, src []byte) error {
	if err := s.advance(len(src)); err != nil {
		return err
	}
	s.g.write(src)
	s.ks.xor(dst, src)
	return nil
}
