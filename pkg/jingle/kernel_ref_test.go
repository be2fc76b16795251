package jingle

import (
	"context"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// The kernel data path, kept as the reference of BenchmarkKernelPath
// (jingle-send/-receive use the copy of inline.go, which says why): the
// bytes never pass through user space. The sender uses sendfile(2) (net.TCPConn.ReadFrom of an
// io.LimitedReader around the file), the receiver splice(2) (os.File.ReadFrom
// of an io.LimitedReader around the connection). The hash is computed in
// another goroutine that reads the same file from the page cache: on the
// sender ahead of or alongside the copy, on the receiver behind the bytes
// already written. Both ends therefore hash exactly what is in the file.

const (
	// kernelChunk is the size of one sendfile/splice call: the unit of
	// progress reports and cancellation checks.
	kernelChunk = 8 << 20
	// hashBuf is the read size of the hashing goroutine. It reads rather
	// than maps the file: hashing through 4 MiB read-only mappings
	// (MAP_POPULATE) saved a copy but ran SHA-256 at about half speed here,
	// BenchmarkKernelPath 456–608 MB/s against 688–879 MB/s with reads,
	// interleaved runs on one machine (Linux 6.18 guest; issue 16).
	hashBuf = 1 << 20
)

// hashFileRange hashes size bytes of f from off. When avail is not nil, it
// reads only up to avail() and waits for the writer's signal on more, or
// for end, before reading further. It stops with errAborted when quit closes.
func hashFileRange(f *os.File, off, size int64, hs []hash.Hash, avail func() int64, more, end <-chan struct{}, quit <-chan struct{}) error {
	var buf []byte
	var done int64
	for done < size {
		limit := size
		if avail != nil {
			for {
				limit = min(avail(), size)
				if limit > done {
					break
				}
				select {
				case <-more:
				case <-end:
					if avail() <= done {
						return io.ErrUnexpectedEOF
					}
				case <-quit:
					return errAborted
				}
			}
		} else {
			select {
			case <-quit:
				return errAborted
			default:
			}
		}
		if buf == nil {
			buf = make([]byte, hashBuf)
		}
		want := min(int64(len(buf)), limit-done)
		k, err := f.ReadAt(buf[:want], off+done)
		for _, h := range hs {
			h.Write(buf[:k])
		}
		done += int64(k)
		if err != nil && !(err == io.EOF && done == size) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read back for hashing: %w", err)
		}
	}
	return nil
}

// sendKernel sends size bytes of f from its current offset to conn with
// sendfile, hashing the same range concurrently. A file shorter than size
// ends the copy early (the caller reports it).
func sendKernel(ctx context.Context, conn *net.TCPConn, f *os.File, size int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error) {
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	quit := make(chan struct{})
	hashed := make(chan error, 1)
	go func() { hashed <- hashFileRange(f, start, size, hs, nil, nil, nil, quit) }()
	stop := interruptOn(ctx, conn, abort)

	var n int64
	last := time.Now()
	for n < size {
		var k int64
		k, err = conn.ReadFrom(&io.LimitedReader{R: f, N: min(kernelChunk, size-n)})
		n += k
		if err != nil || k == 0 {
			break
		}
		if progress != nil && time.Since(last) > 100*time.Millisecond {
			progress(n)
			last = time.Now()
		}
	}
	return endCopy(n, size, err, stop(), progress, quit, hashed)
}

// recvKernel receives exactly size bytes from conn into f at its current
// offset with splice, hashing what has been written in another goroutine.
// A stream that ends early returns the short count and no error (the
// caller reports it); it never reads beyond size.
func recvKernel(ctx context.Context, f *os.File, conn *net.TCPConn, size int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error) {
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	var written atomic.Int64
	more := make(chan struct{}, 1)
	quit := make(chan struct{})
	hashed := make(chan error, 1)
	endOfData := make(chan struct{})
	go func() {
		hashed <- hashFileRange(f, start, size, hs, written.Load, more, endOfData, quit)
	}()
	stop := interruptOn(ctx, conn, abort)

	var n int64
	last := time.Now()
	for n < size {
		var k int64
		k, err = f.ReadFrom(&io.LimitedReader{R: conn, N: min(kernelChunk, size-n)})
		n += k
		if k > 0 {
			written.Store(n)
			select {
			case more <- struct{}{}:
			default:
			}
		}
		if err != nil || k == 0 {
			break
		}
		if progress != nil && time.Since(last) > 100*time.Millisecond {
			progress(n)
			last = time.Now()
		}
	}
	close(endOfData)
	return endCopy(n, size, err, stop(), progress, quit, hashed)
}

// endCopy finishes either direction of a kernel copy of n out of size
// bytes: the last progress report, then the hasher's result, which on a
// short or failed copy is abandoned. An interruption (why: the context or
// the session's abort) is reported rather than the I/O error it caused.
func endCopy(n, size int64, err, why error, progress func(int64), quit chan struct{}, hashed <-chan error) (int64, error) {
	if progress != nil {
		progress(n)
	}
	if err != nil || n < size {
		close(quit)
		<-hashed
		if why != nil {
			return n, why
		}
		return n, err
	}
	if herr := <-hashed; herr != nil {
		return n, herr
	}
	return n, why
}
