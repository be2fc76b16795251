package jingle

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/stall"
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
// speed, small enough for constant memory (copyBufs of them in flight).
const (
	copyBuf  = 256 << 10
	copyBufs = 4
)

type chunk struct {
	b   []byte
	err error // the read error after b (io.EOF at the end)
}

// pump copies src to dst, hashing what passes into hs and reporting
// progress; limit < 0 copies until EOF. Reading and hashing run in one
// goroutine and writing in another, so that on a multi-core machine the
// hash costs no wall time. It stops early when ctx ends or abort closes.
func pump(ctx context.Context, dst io.Writer, src io.Reader, limit int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error) {
	free := make(chan []byte, copyBufs)
	for range copyBufs {
		free <- make([]byte, copyBuf)
	}
	full := make(chan chunk, copyBufs)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(full)
		var n int64
		for limit < 0 || n < limit {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			want := len(buf)
			if limit >= 0 && limit-n < int64(want) {
				want = int(limit - n)
			}
			k, err := io.ReadAtLeast(src, buf[:want], 1)
			if err == io.ErrUnexpectedEOF {
				err = nil
			}
			for _, h := range hs {
				h.Write(buf[:k])
			}
			n += int64(k)
			select {
			case full <- chunk{buf[:k], err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// A write blocked on a peer that stopped reading returns when ctx ends.
	defer stall.Interrupt(ctx, dst)()
	var n int64
	last := time.Now()
	defer func() {
		if progress != nil {
			progress(n)
		}
	}()
	for {
		var c chunk
		var ok bool
		select {
		case c, ok = <-full:
		case <-ctx.Done():
			return n, context.Cause(ctx)
		case <-abort:
			return n, errAborted
		}
		if !ok {
			return n, nil
		}
		if len(c.b) > 0 {
			if _, err := dst.Write(c.b); err != nil {
				if ctx.Err() != nil {
					return n, context.Cause(ctx)
				}
				return n, err
			}
			n += int64(len(c.b))
			if progress != nil && time.Since(last) > 100*time.Millisecond {
				progress(n)
				last = time.Now()
			}
		}
		free <- c.b[:cap(c.b)]
		if c.err == io.EOF {
			return n, nil
		}
		if c.err != nil {
			return n, c.err
		}
	}
}

var errAborted = errors.New("transfer aborted")

// dataPhase prepares the copy of a session's data. The returned context
// ends once nothing has moved on stream for opts.Timeout: without it a
// peer that stops reading or writing but keeps its connection open would
// hold the transfer forever. Progress is what the copy reports, and on TCP
// what the kernel counts, which also moves inside one long sendfile or
// splice call. The stream is also interrupted when the peer ends the
// session. end must be called when the copy returns.
func (s *Session) dataPhase(ctx context.Context, stream io.Closer, opts Options) (_ context.Context, progress func(int64), end func()) {
	var done atomic.Int64
	progress = func(n int64) {
		done.Store(n)
		if opts.Progress != nil {
			opts.Progress(n)
		}
	}
	dctx, unwatch := stall.Watch(ctx, opts.Timeout, stall.Sum(done.Load, stall.TCPMoved(stream)))
	stop := s.watch(stream)
	return dctx, progress, func() {
		unwatch()
		stop()
	}
}

// failReason is the reason to end a session whose data phase failed with
// err: a stall is a timeout, anything else the given condition.
func failReason(err error, otherwise string) (condition, text string) {
	var se *stall.Error
	if errors.As(err, &se) {
		return ReasonTimeout, err.Error()
	}
	return otherwise, ""
}

// closeWait bounds the polite end of an in-band stream whose data has all
// been acknowledged.
const closeWait = 5 * time.Second

// closeWrite half-closes a TCP stream so that the reader sees the end.
func closeWrite(s io.ReadWriteCloser) {
	if tc, ok := s.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// watch interrupts the stream when the peer ends the session, so that a
// copy blocked in I/O returns; the returned stop ends the watch. An
// in-band stream is aborted rather than closed: its close would wait for
// blocks in flight, which belong to the copy's goroutine.
func (s *Session) watch(stream io.Closer) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-s.ended:
			if err := s.peerEnded(); err != nil {
				if a, ok := stream.(interface{ Abort(error) }); ok {
					a.Abort(err)
				} else {
					stream.Close()
				}
			}
		case <-done:
		}
	}()
	return func() { close(done) }
}

func transportName(kind Method, c *Candidate) string {
	if kind == MethodIBB || c == nil {
		return "ibb"
	}
	return "s5b-" + c.Type
}

func errTransfer(op string, err error) error {
	return fmt.Errorf("%s: %w", op, err)
}
