package jingle

import (
	"context"
	"hash"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// The data path over TCP (direct or proxied SOCKS5) when the file is a
// regular file and the size is known: one goroutine per end reads a block,
// hashes it while it is in the cache and writes it. Both ends therefore
// hash exactly the bytes they moved (the receiver hashes a block before
// handing that same block to write(2), and a failed write is an error),
// and the file is read or written once.
//
// It replaced, again, a kernel path (sendfile on the sender, splice on the
// receiver, each with a second goroutine reading the file back with pread
// to hash it; kept as the benchmarks' reference in kernel_ref_test.go). On
// the 2-core guest of issue 16 sendfile and splice cost as much CPU as a
// copy, and the read-back was one more copy per end; hashing the read-back
// through mmap instead costs twice as much there (every page of a new
// mapping is a shadow page-table fault: SHA-256 over freshly mapped page
// cache 1.33–1.41 s/GiB against 0.64 over a reused buffer and 0.74–0.77
// with pread; BenchmarkHashReadBack).
// This path was tried before and dropped because write(2) into ext4 cost
// the receiver 1.27 s/GiB; that was the size of the writes, not write(2):
// a 1 MiB write makes ext4 allocate large folios, and on this guest large
// blocks of memory freed a few seconds earlier are given back to the host
// and fault back in page by page (1.0 s/GiB for 1 MiB writes after a
// pause, 0.14 right after; 0.14–0.17 for 256 KiB writes either way). So
// the receiver writes in fileWrite pieces. A splice receiver behind a
// write(2) sender is the worst pairing (the sender's socket pages stay
// pinned in the receiver's pipe), so both ends use this path together.
// Paired runs of 1 GiB against the kernel path (bench/jingle.sh BASELINE=):
// 8–21% less CPU on the receiver, 4–14% on the sender (README).

var aLongTimeAgo = time.Unix(1, 0)

// interruptOn makes I/O on conn fail as soon as ctx ends or abort closes;
// stop ends the watch and reports which of the two happened, if any.
func interruptOn(ctx context.Context, conn *net.TCPConn, abort <-chan struct{}) (stop func() error) {
	done := make(chan struct{})
	var why error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			why = context.Cause(ctx)
		case <-abort:
			why = errAborted
		case <-done:
			return
		}
		_ = conn.SetDeadline(aLongTimeAgo)
	}()
	return func() error {
		close(done)
		wg.Wait()
		return why
	}
}

// inlineBuf is the block of the TCP copy: 256 KiB socket reads cost the
// receiver 22% more CPU (more, shorter reads), 4 MiB blocks both ends 2–4%
// more (paired runs); 1 MiB stays constant memory.
const inlineBuf = 1 << 20

// fileWrite is the largest write(2) into the received file (see above:
// larger writes make the page cache allocate blocks that, on a guest that
// returns free memory to its host, are dear to touch).
const fileWrite = 256 << 10

// inlinePath reports the connection of a transfer that can take the
// inline copy: a regular file (whose reads and writes never hang on a
// peer, so interrupting the connection is enough to stop the copy) and a
// TCP stream. Anything else goes through pump.
func inlinePath(file any, stream any) (*net.TCPConn, bool) {
	f, ok := file.(*os.File)
	if !ok || f == nil {
		return nil, false
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	c, ok := stream.(*net.TCPConn)
	return c, ok && c != nil
}

// copyInline copies size bytes from src to dst, one of which is conn,
// hashing them into hs. A source that ends early (a stream closed by the
// peer, a file that shrank) returns the short count and no error, for the
// caller to report; it never reads beyond size. An interruption (ctx or
// abort) is reported rather than the I/O error it caused.
func copyInline(ctx context.Context, conn *net.TCPConn, dst io.Writer, src io.Reader, size int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error) {
	read := func(b []byte) (int, error) { return io.ReadFull(src, b) }
	if src == io.Reader(conn) {
		var err error
		if read, err = socketReader(conn); err != nil {
			return 0, err
		}
	}
	piece := inlineBuf
	if dst != io.Writer(conn) {
		piece = fileWrite
	}
	stop := interruptOn(ctx, conn, abort)
	buf := make([]byte, min(int64(inlineBuf), max(size, 1)))
	var n int64
	var err error
	last := time.Now()
	for n < size {
		want := min(int64(len(buf)), size-n)
		var k int
		k, err = read(buf[:want])
		for _, h := range hs {
			h.Write(buf[:k])
		}
		if k > 0 {
			if werr := writePieces(dst, buf[:k], piece); werr != nil {
				err = werr
				break
			}
			n += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = nil
			break
		}
		if err != nil {
			break
		}
		if progress != nil && time.Since(last) > 100*time.Millisecond {
			progress(n)
			last = time.Now()
		}
	}
	why := stop()
	if progress != nil {
		progress(n)
	}
	if why != nil && (err != nil || n < size) {
		return n, why
	}
	return n, err
}

// writePieces writes b to w in writes of at most piece bytes.
func writePieces(w io.Writer, b []byte, piece int) error {
	for len(b) > 0 {
		k := min(len(b), piece)
		if _, err := w.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}
