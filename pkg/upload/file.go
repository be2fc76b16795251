package upload

// The sources of a File: a path on disk, a temporary copy of a stream
// (its size must be known for the slot), or a stream of a size given in
// advance, read once. Everything here is checked before connecting, so
// bad input fails before anything is sent.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// InputError is a source that cannot be uploaded as given: missing,
// unreadable, not a regular file, a bad name, a stream shorter than its
// announced size. It is the user's to fix, never the service's.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Reasons carried by an InputError, for errors.Is.
var (
	ErrBadName    = errors.New("want a plain name without / or control characters")
	ErrNotRegular = errors.New("not a regular file")
	ErrNoRetry    = errors.New("standard input cannot be read again for a retry (spool it: leave out --size)")
)

// CheckName reports whether name can be announced as the file name: a
// plain name, no path, no control characters.
func CheckName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || stanza.Sanitize(name) != name {
		return &InputError{Err: fmt.Errorf("invalid file name %q: %w", name, ErrBadName)}
	}
	return nil
}

// DiskFile checks a path and describes it for the upload, under name (""
// for the path's base name). The content type comes from the name, else
// from the first bytes.
func DiskFile(path, name string) (File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return File{}, &InputError{Err: fmt.Errorf("%s: %w", path, unwrapPathErr(err))}
	}
	if st.IsDir() {
		return File{}, &InputError{Err: fmt.Errorf("%s: is a directory (upload files, or an archive of the directory)", path)}
	}
	if !st.Mode().IsRegular() {
		return File{}, &InputError{Err: fmt.Errorf("%s: %w", path, ErrNotRegular)}
	}
	fh, err := os.Open(path)
	if err != nil {
		return File{}, &InputError{Err: fmt.Errorf("%s: %w", path, unwrapPathErr(err))}
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(fh, head)
	fh.Close()
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return File{}, &InputError{Err: fmt.Errorf("%s: %w", path, unwrapPathErr(err))}
	}
	if name == "" {
		name = filepath.Base(path)
		if err := CheckName(name); err != nil {
			return File{}, &InputError{Err: fmt.Errorf("%s: %w", path, err)}
		}
	}
	return File{Name: name, Size: st.Size(), ContentType: DetectType(name, head[:n]),
		Open: func() (io.ReadCloser, error) { return os.Open(path) }}, nil
}

// Spool copies r to a temporary file and describes that under name. The
// returned path, when not "", is the caller's to remove, on error too.
func Spool(r io.Reader, name string) (File, string, error) {
	tmp, err := os.CreateTemp("", "xmppctl-upload-*")
	if err != nil {
		return File{}, "", fmt.Errorf("spool standard input: %w", err)
	}
	spool := tmp.Name()
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, spool, fmt.Errorf("spool standard input to %s: %w", spool, err)
	}
	file, err := DiskFile(spool, name)
	if err != nil {
		return File{}, spool, err
	}
	file.Size = n
	return file, spool, nil
}

// Stream describes r, of exactly size bytes, without a copy: it can be
// read once, so a failed transfer is not retried (the second Open fails
// with ErrNoRetry), and a stream that ends early is an InputError.
func Stream(r io.Reader, name string, size int64) File {
	br := newPeekReader(r, 512)
	used := false
	return File{Name: name, Size: size, ContentType: DetectType(name, br.head),
		Open: func() (io.ReadCloser, error) {
			if used {
				return nil, ErrNoRetry
			}
			used = true
			return io.NopCloser(&exactReader{r: br, left: size}), nil
		}}
}

// exactReader reports a stream that ends before its announced size as
// bad input, not as a changed file.
type exactReader struct {
	r    io.Reader
	left int64
	n    int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, &InputError{Err: fmt.Errorf("standard input ended after %d of the %d bytes given by --size", e.n, e.n+e.left)}
	}
	return n, err
}

// peekReader reads the first bytes ahead (for type detection) and then
// replays them.
type peekReader struct {
	head []byte
	off  int
	r    io.Reader
}

func newPeekReader(r io.Reader, n int) *peekReader {
	head := make([]byte, n)
	m, _ := io.ReadFull(r, head)
	return &peekReader{head: head[:m], r: r}
}

func (p *peekReader) Read(b []byte) (int, error) {
	if p.off < len(p.head) {
		n := copy(b, p.head[p.off:])
		p.off += n
		return n, nil
	}
	return p.r.Read(b)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
