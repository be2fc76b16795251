package aesgcm

// GHASH (NIST SP 800-38D, section 6.4) with Shoup's 8-bit tables: a block
// is multiplied by H one byte at a time, Horner style, from the byte of the
// highest degree down, multiplying the running product by x^8 between
// bytes. Bit order is GCM's: the leftmost bit of a block is the
// coefficient of x^0, so "multiply by x" is a right shift and the bit that
// falls off the right end is folded back with R = 11100001 || 0^120.
//
// A block is held as two big-endian uint64 halves: hi = bytes 0..7,
// lo = bytes 8..15. The tables are per key (4 KiB) and hold no secret
// other than values derived from H, like every table-driven GHASH; the
// lookups are indexed by data mixed with H, which is the usual cache-timing
// caveat of software GCM (the standard library uses a constant-time
// carry-less multiply where the CPU has one). Here the key is used for one
// file and thrown away, which is the setting XEP-0454 defines.

import "encoding/binary"

type elem struct{ hi, lo uint64 }

// mulX multiplies by x: shift right one bit, fold the carried-out
// coefficient of x^127 back as x^128 = 1 + x + x^2 + x^7.
func (e elem) mulX() elem {
	carry := e.lo & 1
	e.lo = e.lo>>1 | e.hi<<63
	e.hi >>= 1
	if carry != 0 {
		e.hi ^= 0xe1 << 56
	}
	return e
}

// reduce8[r] is what the 8 highest-degree coefficients x^120..x^127 (r,
// its least significant bit being x^127) become when multiplied by x^8 and
// reduced: the part of a product that a byte shift pushes out of the low
// end. It only ever touches hi.
var reduce8 = func() (t [256]uint64) {
	for r := range t {
		e := elem{lo: uint64(r)}
		for range 8 {
			e = e.mulX()
		}
		t[r] = e.hi // e.lo is 0: all of r was shifted out
	}
	return t
}()

// ghash is a running GHASH under one hash key H.
type ghash struct {
	table [256]elem // table[b] = b(x)·H, b's most significant bit the coefficient of x^0
	y     elem
	buf   [16]byte
	nbuf  int
	n     uint64 // bytes absorbed
}

func newGHASH(h [16]byte) *ghash {
	g := &ghash{}
	v := elem{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])}
	for bit := 0x80; bit > 0; bit >>= 1 {
		g.table[bit] = v
		v = v.mulX()
	}
	for b := 2; b < 256; b <<= 1 {
		for i := 1; i < b; i++ {
			g.table[b+i] = elem{g.table[b].hi ^ g.table[i].hi, g.table[b].lo ^ g.table[i].lo}
		}
	}
	return g
}

// mulH sets y = y·H.
func (g *ghash) mulH() {
	var z elem
	y := g.y
	for i := 15; i >= 0; i-- {
		var b uint64
		if i >= 8 {
			b = y.lo >> (8 * (15 - i)) & 0xff
		} else {
			b = y.hi >> (8 * (7 - i)) & 0xff
		}
		if i != 15 {
			r := z.lo & 0xff
			z.lo = z.lo>>8 | z.hi<<56
			z.hi = z.hi>>8 ^ reduce8[r]
		}
		t := &g.table[b]
		z.hi ^= t.hi
		z.lo ^= t.lo
	}
	g.y = z
}

func (g *ghash) block(b []byte) {
	g.y.hi ^= binary.BigEndian.Uint64(b[:8])
	g.y.lo ^= binary.BigEndian.Uint64(b[8:16])
	g.mulH()
}

// write absorbs data; a last partial block is zero-padded by pad.
func (g *ghash) write(p []byte) {
	g.n += uint64(len(p))
	if g.nbuf > 0 {
		k := copy(g.buf[g.nbuf:], p)
		g.nbuf += k
		p = p[k:]
		if g.nbuf < 16 {
			return
		}
		g.block(g.buf[:])
		g.nbuf = 0
	}
	for len(p) >= 16 {
		g.block(p[:16])
		p = p[16:]
	}
	g.nbuf = copy(g.buf[:], p)
}

// pad zero-fills and absorbs a pending partial block (the end of a GHASH
// input section).
func (g *ghash) pad() {
	if g.nbuf > 0 {
		clear(g.buf[g.nbuf:])
		g.block(g.buf[:])
		g.nbuf = 0
	}
}

// sum finishes GHASH(A || C || len(A)_64 || len(C)_64) for an empty A:
// ciphertext written so far, padded, then the lengths block.
func (g *ghash) sum(aadBits, ctBits uint64) [16]byte {
	g.pad()
	var l [16]byte
	binary.BigEndian.PutUint64(l[:8], aadBits)
	binary.BigEndian.PutUint64(l[8:], ctBits)
	g.block(l[:])
	var out [16]byte
	binary.BigEndian.PutUint64(out[:8], g.y.hi)
	binary.BigEndian.PutUint64(out[8:], g.y.lo)
	return out
}
