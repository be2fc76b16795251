package aesgcm

// GHASH (NIST SP 800-38D, section 6.4), incrementally, at the speed of
// the standard library's GCM.
//
// crypto/cipher exposes no GHASH, but its GCM computes one: sealing an
// empty plaintext with associated data A under a nonce N gives the tag
//
//	T = E(K, J0(N)) ⊕ GHASH(pad(A) || [len(A)]_64 || [0]_64)
//	  = E(K, J0(N)) ⊕ GHASH(pad(A))·H ⊕ L·H
//
// (GHASH of blocks X1..Xm is Σ Xi·H^(m-i+1), so appending a block L
// multiplies what came before by H and adds L·H). So U(A) = GHASH(pad(A))·H
// = T ⊕ E(K, J0(N)) ⊕ L·H costs one Seal, on the CPU's carry-less multiply
// where it has one, plus one field multiplication. A long input is taken a
// chunk at a time: with z = GHASH(so far)·H, appending a chunk of n blocks
// gives z' = z·H^n ⊕ U(chunk). Only the final chunk may be a partial block
// (zero-padded by GCM exactly as GHASH pads the ciphertext). The field
// multiplication here (SP 800-38D Algorithm 1, bit by bit, branch-free)
// runs once per 32 KiB chunk, never per block.

import (
	"crypto/cipher"
	"encoding/binary"
)

// chunk is the GHASH buffer: a multiple of the block size, the only memory
// that grows with nothing.
const chunk = 32 << 10

type elem struct{ hi, lo uint64 }

func load(b []byte) elem {
	return elem{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (e elem) bytes() (out [16]byte) {
	binary.BigEndian.PutUint64(out[:8], e.hi)
	binary.BigEndian.PutUint64(out[8:], e.lo)
	return out
}

func (e elem) xor(f elem) elem { return elem{e.hi ^ f.hi, e.lo ^ f.lo} }

// mul is x·y in GCM's field: the leftmost bit of a block is the
// coefficient of x^0, multiplying by x is a right shift, and the bit
// falling off (x^128) is folded back as R = 11100001 || 0^120. Masks
// instead of branches keep it constant-time.
func mul(x, y elem) elem {
	var z elem
	v := y
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		m := -bit
		z.hi ^= v.hi & m
		z.lo ^= v.lo & m
		carry := -(v.lo & 1)
		v.lo = v.lo>>1 | v.hi<<63
		v.hi = v.hi>>1 ^ (0xe1<<56)&carry
	}
	return z
}

// pow is h^n.
func pow(h elem, n uint64) elem {
	r := elem{hi: 1 << 63} // the polynomial 1
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r = mul(r, h)
		}
		h = mul(h, h)
	}
	return r
}

// ghash is a running GHASH of the ciphertext under the hash key H.
type ghash struct {
	gcm    cipher.AEAD // the same key's GCM, used to hash
	mask   elem        // E(K, J0) for the all-zero nonce of the hashing Seals
	h      elem
	hChunk elem // H^(chunk/16)
	z      elem // GHASH(absorbed)·H
	buf    []byte
	tag    []byte
}

func newGHASH(b cipher.Block) (*ghash, error) {
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	var h, j0 [16]byte
	b.Encrypt(h[:], h[:])
	j0[15] = 1 // J0 of the zero 96-bit nonce
	b.Encrypt(j0[:], j0[:])
	he := load(h[:])
	return &ghash{gcm: g, mask: load(j0[:]), h: he, hChunk: pow(he, chunk/16),
		buf: make([]byte, 0, chunk), tag: make([]byte, 0, 16)}, nil
}

// absorb adds a chunk: a whole number of blocks, or the last one.
func (g *ghash) absorb(p []byte) {
	var zero [12]byte
	t := load(g.gcm.Seal(g.tag[:0], zero[:], nil, p))
	l := elem{hi: uint64(len(p)) * 8}
	u := t.xor(g.mask).xor(mul(l, g.h))
	hn := g.hChunk
	if len(p) != chunk {
		hn = pow(g.h, uint64(len(p)+15)/16)
	}
	g.z = mul(g.z, hn).xor(u)
}

// write absorbs ciphertext.
func (g *ghash) write(p []byte) {
	for len(p) > 0 {
		if len(g.buf) == 0 && len(p) >= chunk {
			g.absorb(p[:chunk]) // straight from the caller's buffer
			p = p[chunk:]
			continue
		}
		k := min(len(p), chunk-len(g.buf))
		g.buf = append(g.buf, p[:k]...)
		p = p[k:]
		if len(g.buf) == chunk {
			g.absorb(g.buf)
			g.buf = g.buf[:0]
		}
	}
}

// sum finishes GHASH(C || [0]_64 || [len(C)]_64) (no associated data).
func (g *ghash) sum(ctBits uint64) [16]byte {
	if len(g.buf) > 0 {
		g.absorb(g.buf)
		g.buf = g.buf[:0]
	}
	// GHASH(C || L) = (GHASH(C) ⊕ L)·H = z ⊕ L·H
	return g.z.xor(mul(elem{lo: ctBits}, g.h)).bytes()
}

// j0 is the pre-counter block of a 16-byte IV: GHASH(IV || [0]_64 ||
// [128]_64) = (IV·H ⊕ L)·H.
func j0Long(h elem, iv []byte) [16]byte {
	return mul(mul(load(iv), h).xor(elem{lo: uint64(len(iv)) * 8}), h).bytes()
}
