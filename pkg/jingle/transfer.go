package jingle

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"time"

	"github.com/xmppctl/xmppctl/pkg/hashes"
)

// Result describes a finished transfer.
type Result struct {
	SID       string      `json:"sid"`
	Peer      string      `json:"peer"`
	Name      string      `json:"name"`
	Size      int64       `json:"size"`
	Transport string      `json:"transport"` // s5b-direct, s5b-proxy or ibb
	Hash      hashes.Hash `json:"-"`
	HashText  string      `json:"hash"`
	Verified  bool        `json:"verified"` // the hash was checked (by the receiver)
}

// copyBuf is the chunk size of the copy loops: large enough for loopback
// speed, small enough for constant memory.
const copyBuf = 256 << 10

// pump copies src to dst, hashing what passes into hs and reporting
// progress. It stops early when ctx ends or abort is closed.
func pump(ctx context.Context, dst io.Writer, src io.Reader, limit int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error) {
	buf := make([]byte, copyBuf)
	var n int64
	last := time.Now()
	for limit < 0 || n < limit {
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-abort:
			return n, errAborted
		default:
		}
		want := len(buf)
		if limit >= 0 && limit-n < int64(want) {
			want = int(limit - n)
		}
		k, rerr := src.Read(buf[:want])
		if k > 0 {
			for _, h := range hs {
				h.Write(buf[:k])
			}
			if _, err := dst.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
			if progress != nil && time.Since(last) > 100*time.Millisecond {
				progress(n)
				last = time.Now()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, rerr
		}
	}
	if progress != nil {
		progress(n)
	}
	return n, nil
}

var errAborted = errors.New("transfer aborted")

// closeWrite half-closes a TCP stream so that the reader sees the end.
func closeWrite(s io.ReadWriteCloser) {
	if tc, ok := s.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// watch closes the stream when the session ends, so that a copy blocked
// in I/O returns; the returned stop ends the watch.
func (s *Session) watch(stream io.Closer) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-s.ended:
			if s.peerEnded() != nil {
				stream.Close()
			}
		case <-done:
		}
	}()
	return func() { close(done) }
}

func transportName(kind string, c *Candidate) string {
	if kind == "ibb" || c == nil {
		return "ibb"
	}
	return "s5b-" + c.Type
}

func errTransfer(op string, err error) error {
	return fmt.Errorf("%s: %w", op, err)
}
