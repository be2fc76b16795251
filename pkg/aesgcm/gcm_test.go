package aesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stdSeal is the reference: crypto/cipher's GCM over the whole message.
func stdSeal(t testing.TB, key, iv, plain []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCMWithNonceSize(b, len(iv))
	if err != nil {
		t.Fatal(err)
	}
	return g.Seal(nil, iv, plain, nil)
}

// seal runs the Encrypter, reading through chunks of the given size.
func seal(t testing.TB, key, iv, plain []byte, chunk int) []byte {
	t.Helper()
	e, err := NewEncrypter(bytes.NewReader(plain), key, iv)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buf := make([]byte, chunk)
	for {
		n, err := e.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// open runs the Decrypter, writing in chunks of the given size.
func open(t testing.TB, key, iv, file []byte, chunk int) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	d, err := NewDecrypter(&out, key, iv)
	if err != nil {
		t.Fatal(err)
	}
	for len(file) > 0 {
		n := min(chunk, len(file))
		if _, err := d.Write(file[:n]); err != nil {
			return nil, err
		}
		file = file[n:]
	}
	return out.Bytes(), d.Close()
}

// The AES-256 GCM test cases 13, 14 and 15 of McGrew and Viega's GCM
// specification (the ones without associated data, which XEP-0454 does
// not use), the source of NIST SP 800-38D's examples.
func TestNISTVectors(t *testing.T) {
	k15 := "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
	tests := []struct{ name, key, iv, plain, cipher, tag string }{
		{"case13", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
			"", "", "530f8afbc74536b9a963b4f1c4cb738b"},
		{"case14", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
			"00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
		{"case15", k15, "cafebabefacedbaddecaf888",
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
			"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
			"b094dac5d93471bdec1a502270e3cc6c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, iv, plain := unhex(t, tt.key), unhex(t, tt.iv), unhex(t, tt.plain)
			want := unhex(t, tt.cipher+tt.tag)
			for _, chunk := range []int{1, 7, 16, 4096} {
				if got := seal(t, key, iv, plain, chunk); !bytes.Equal(got, want) {
					t.Fatalf("chunk %d: sealed %x, want %x", chunk, got, want)
				}
				got, err := open(t, key, iv, want, chunk)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("chunk %d: opened %x, %v", chunk, got, err)
				}
			}
			if got := stdSeal(t, key, iv, plain); !bytes.Equal(got, want) {
				t.Fatalf("the standard library disagrees with the vector: %x", got)
			}
		})
	}
}

// TestDifferential compares with crypto/cipher at the lengths around
// block edges and a large one, with both IV sizes and odd chunkings.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 257, 4095, 4096, 4097,
		chunk - 1, chunk, chunk + 1, chunk + 5, 2*chunk + 16, 1<<20 + 3}
	for _, ivLen := range []int{IVSize, LegacyIVSize} {
		for _, n := range lengths {
			key, iv, plain := randBytes(r, KeySize), randBytes(r, ivLen), randBytes(r, n)
			want := stdSeal(t, key, iv, plain)
			for _, chunk := range []int{1, 13, 16, 1000, 64 << 10} {
				if n > 70000 && chunk < 1000 {
					continue
				}
				if got := seal(t, key, iv, plain, chunk); !bytes.Equal(got, want) {
					t.Fatalf("iv %d, len %d, chunk %d: ciphertext differs from crypto/cipher", ivLen, n, chunk)
				}
				got, err := open(t, key, iv, want, chunk)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("iv %d, len %d, chunk %d: open: %v", ivLen, n, chunk, err)
				}
			}
		}
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// FuzzDifferential: any key, IV (12 or 16 bytes), plaintext and chunking
// seal to exactly crypto/cipher's output and open back; a flipped bit
// anywhere fails authentication.
func FuzzDifferential(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 12), []byte{}, uint16(1), uint16(0))
	f.Add(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16), []byte("hello, world!!!!x"), uint16(16), uint16(5))
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 16), bytes.Repeat([]byte{7}, 100), uint16(3), uint16(99))
	f.Fuzz(func(t *testing.T, key, iv, plain []byte, chunk, flip uint16) {
		if len(key) != KeySize || (len(iv) != IVSize && len(iv) != LegacyIVSize) {
			return
		}
		c := int(chunk%4096) + 1
		want := stdSeal(t, key, iv, plain)
		if got := seal(t, key, iv, plain, c); !bytes.Equal(got, want) {
			t.Fatalf("sealed %x, crypto/cipher %x", got, want)
		}
		got, err := open(t, key, iv, want, c)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("open: %v", err)
		}
		bad := bytes.Clone(want)
		bad[int(flip)%len(bad)] ^= 1
		if _, err := open(t, key, iv, bad, c); !errors.Is(err, ErrAuth) {
			t.Fatalf("a flipped bit opened: %v", err)
		}
	})
}

// The keystream must wrap only its low 32 bits (inc32), which a 16-byte
// IV can make happen after a few blocks (J0 is a hash, its low 32 bits
// anything): start it just before the wrap and compare with counter
// blocks built by hand.
func TestCounterWrap(t *testing.T) {
	b, _ := aes.NewCipher(bytes.Repeat([]byte{9}, KeySize))
	var j0 [16]byte
	for i := range j0 {
		j0[i] = byte(0xa0 + i)
	}
	binary.BigEndian.PutUint32(j0[12:], 0xfffffffd)
	var k keystream
	k.init(b, j0)
	got := make([]byte, 6*16+5)
	for i := 0; i < len(got); i += 7 { // odd pieces, across the wrap
		end := min(i+7, len(got))
		k.xor(got[i:end], got[i:end])
	}
	want := make([]byte, 0, 7*16)
	ctr := j0
	for range 7 {
		binary.BigEndian.PutUint32(ctr[12:], binary.BigEndian.Uint32(ctr[12:])+1) // inc32
		var ks [16]byte
		b.Encrypt(ks[:], ctr[:])
		want = append(want, ks[:]...)
	}
	if !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("keystream across the wrap:\n got %x\nwant %x", got, want[:len(got)])
	}
}

func TestDecrypterRefuses(t *testing.T) {
	key, iv := make([]byte, KeySize), make([]byte, IVSize)
	good := stdSeal(t, key, iv, []byte("some file"))
	tests := map[string][]byte{
		"empty":     {},
		"short":     good[:TagSize-1],
		"truncated": good[:len(good)-1],
		"extended":  append(bytes.Clone(good), 0),
		"tag only":  good[len(good)-TagSize:],
		"tag flip":  append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^0x80),
		"body flip": append([]byte{good[0] ^ 1}, good[1:]...),
	}
	for name, file := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := open(t, key, iv, file, 3); !errors.Is(err, ErrAuth) {
				t.Fatalf("got %v, want ErrAuth", err)
			}
		})
	}
	if _, err := NewDecrypter(io.Discard, key[:16], iv); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := NewEncrypter(nil, key, iv[:8]); err == nil {
		t.Error("an 8-byte IV was accepted")
	}
}

func TestEncryptedSize(t *testing.T) {
	key, iv := make([]byte, KeySize), make([]byte, IVSize)
	for _, n := range []int{0, 1, 100} {
		if got := len(seal(t, key, iv, make([]byte, n), 64)); int64(got) != EncryptedSize(int64(n)) {
			t.Errorf("%d bytes sealed to %d, EncryptedSize says %d", n, got, EncryptedSize(int64(n)))
		}
	}
}

// BenchmarkSeal compares the streaming Encrypter and Decrypter with
// crypto/cipher's one-shot Seal and Open on 1 MiB (the MB/s column; the
// streaming side pays for the copy through its buffers and one extra GCM
// call per 32 KiB).
func BenchmarkSeal(b *testing.B) {
	key, iv := make([]byte, KeySize), make([]byte, IVSize)
	plain := make([]byte, 1<<20)
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		buf := make([]byte, 32<<10)
		for b.Loop() {
			e, _ := NewEncrypter(bytes.NewReader(plain), key, iv)
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{e}, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		blk, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(blk)
		out := make([]byte, 0, len(plain)+TagSize)
		for b.Loop() {
			out = g.Seal(out[:0], iv, plain, nil)
		}
	})
	b.Run("stdlib-open", func(b *testing.B) {
		file := stdSeal(b, key, iv, plain)
		b.SetBytes(int64(len(plain)))
		blk, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(blk)
		out := make([]byte, 0, len(plain))
		for b.Loop() {
			var err error
			if out, err = g.Open(out[:0], iv, file, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		file := stdSeal(b, key, iv, plain)
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			d, _ := NewDecrypter(io.Discard, key, iv)
			if _, err := d.Write(file); err != nil {
				b.Fatal(err)
			}
			if err := d.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The field multiplication: 1 is neutral, it commutes, and pow agrees
// with repeated multiplication.
func TestFieldMul(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	one := elem{hi: 1 << 63}
	for range 50 {
		x := elem{r.Uint64(), r.Uint64()}
		y := elem{r.Uint64(), r.Uint64()}
		if mul(x, one) != x || mul(one, x) != x {
			t.Fatalf("1·%x != itself", x)
		}
		if mul(x, y) != mul(y, x) {
			t.Fatalf("%x·%x does not commute", x, y)
		}
		p := one
		for n := range uint64(20) {
			if got := pow(x, n); got != p {
				t.Fatalf("pow(x, %d) differs from repeated multiplication", n)
			}
			p = mul(p, x)
		}
	}
}
