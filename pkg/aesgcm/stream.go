package aesgcm

// The io side: an encrypting io.Reader (ciphertext, then the tag) and a
// decrypting io.Writer that holds back the last TagSize bytes it was given
// and checks them as the tag when closed. Memory is constant: the reader
// works in the caller's buffer, the writer in a fixed 32 KiB one.

import (
	"crypto/subtle"
	"io"
)

// Encrypter reads plaintext from an io.Reader and yields the XEP-0454
// file: ciphertext followed by the tag.
type Encrypter struct {
	r   io.Reader
	s   *state
	tag []byte // pending tag bytes once r is at EOF
	eof bool
}

// NewEncrypter encrypts r with key and iv. The output is exactly
// EncryptedSize(n) bytes for n bytes of r.
func NewEncrypter(r io.Reader, key, iv []byte) (*Encrypter, error) {
	s, err := newState(key, iv)
	if err != nil {
		return nil, err
	}
	return &Encrypter{r: r, s: s}, nil
}

// EncryptedSize is the size of the file XEP-0454 uploads for a plaintext
// of n bytes.
func EncryptedSize(n int64) int64 { return n + TagSize }

// Read implements io.Reader.
func (e *Encrypter) Read(p []byte) (int, error) {
	if e.eof {
		if len(e.tag) == 0 {
			return 0, io.EOF
		}
		n := copy(p, e.tag)
		e.tag = e.tag[n:]
		return n, nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := e.r.Read(p)
	if serr := e.s.seal(p[:n]); serr != nil {
		return 0, serr
	}
	if err == io.EOF {
		t := e.s.tag()
		e.tag, e.eof = t[:], true
		if n == 0 {
			return e.Read(p)
		}
		return n, nil
	}
	return n, err
}

// Decrypter is an io.WriteCloser that takes the XEP-0454 file (ciphertext
// then tag) and writes the plaintext to w. The plaintext it writes is NOT
// authentic until Close returned nil: write it where nobody takes it for
// the file (a hidden temporary file) and discard it on any error.
type Decrypter struct {
	w    io.Writer
	s    *state
	hold [TagSize]byte // the last bytes seen: maybe the tag
	nh   int
	buf  []byte
	n    int64 // plaintext bytes written to w
	err  error
}

// NewDecrypter decrypts into w with key and iv (12 or 16 bytes).
func NewDecrypter(w io.Writer, key, iv []byte) (*Decrypter, error) {
	s, err := newState(key, iv)
	if err != nil {
		return nil, err
	}
	return &Decrypter{w: w, s: s, buf: make([]byte, 32<<10)}, nil
}

// Written is the number of plaintext bytes written so far.
func (d *Decrypter) Written() int64 { return d.n }

// Write implements io.Writer. It never modifies p.
func (d *Decrypter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	total := len(p)
	if d.nh+len(p) <= TagSize {
		d.nh += copy(d.hold[d.nh:], p)
		return total, nil
	}
	// Everything but the last TagSize bytes of hold+p is ciphertext.
	if len(p) >= TagSize {
		if err := d.emit(d.hold[:d.nh]); err != nil {
			return 0, err
		}
		if err := d.emit(p[:len(p)-TagSize]); err != nil {
			return 0, err
		}
		d.nh = copy(d.hold[:], p[len(p)-TagSize:])
		return total, nil
	}
	out := d.nh + len(p) - TagSize // 0 < out < TagSize
	if err := d.emit(d.hold[:out]); err != nil {
		return 0, err
	}
	k := copy(d.hold[:], d.hold[out:d.nh])
	d.nh = k + copy(d.hold[k:], p)
	return total, nil
}

func (d *Decrypter) emit(c []byte) error {
	for len(c) > 0 {
		n := min(len(c), len(d.buf))
		if err := d.s.open(d.buf[:n], c[:n]); err != nil {
			d.err = err
			return err
		}
		m, err := d.w.Write(d.buf[:n])
		d.n += int64(m)
		if err == nil && m < n {
			err = io.ErrShortWrite
		}
		if err != nil {
			d.err = err
			return err
		}
		c = c[n:]
	}
	return nil
}

// Close checks the tag: ErrAuth if the data was shorter than a tag or the
// tag does not match. It does not close w.
func (d *Decrypter) Close() error {
	if d.err != nil {
		return d.err
	}
	d.err = ErrAuth // a second Close, or a Write after Close, fails
	if d.nh < TagSize {
		return ErrAuth
	}
	t := d.s.tag()
	if subtle.ConstantTimeCompare(t[:], d.hold[:]) != 1 {
		return ErrAuth
	}
	d.err = errClosed
	return nil
}

var errClosed = errorString("aes-gcm: decrypter closed")

type errorString string

func (e errorString) Error() string { return string(e) }
