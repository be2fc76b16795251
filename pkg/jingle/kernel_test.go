package jingle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// copyFunc is one end of a data path under test, with the file and the
// connection already chosen.
type copyFunc func(ctx context.Context, conn *net.TCPConn, f *os.File, size int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error)

// testRoundTrip sends files of each size through send → recv and checks the
// bytes, both hashes and the receiver's last progress report.
func testRoundTrip(t *testing.T, sizes []int, send, recv copyFunc) {
	t.Helper()
	for _, size := range sizes {
		data := randomBytes(size)
		want := sha256.Sum256(data)
		src := tempFile(t, data)
		dst := tempFile(t, nil)
		a, b := tcpPair(t)
		sh, rh := sha256.New(), sha256.New()
		var sn, rn int64
		var serr, rerr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			sn, serr = send(context.Background(), a, src, int64(size), []hash.Hash{sh}, nil, nil)
			a.CloseWrite()
		}()
		var last int64
		rn, rerr = recv(context.Background(), b, dst, int64(size), []hash.Hash{rh}, func(n int64) { last = n }, nil)
		<-done
		if serr != nil || rerr != nil || sn != int64(size) || rn != int64(size) || last != int64(size) {
			t.Fatalf("size %d: send %d %v, receive %d %v, progress %d", size, sn, serr, rn, rerr, last)
		}
		if !bytes.Equal(sh.Sum(nil), want[:]) || !bytes.Equal(rh.Sum(nil), want[:]) {
			t.Fatalf("size %d: hash differs", size)
		}
		got, _ := os.ReadFile(dst.Name())
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: received file differs", size)
		}
	}
}

// TestKernelPath: sendKernel → recvKernel, for sizes around the chunk,
// window and page sizes.
func TestKernelPath(t *testing.T) {
	testRoundTrip(t, []int{0, 1, 4095, 4097, hashBuf - 1, hashBuf + 1, kernelChunk + 12345, 2*kernelChunk + hashBuf},
		sendKernel, recvKernelTo)
}

// recvKernelTo is recvKernel with copyFunc's argument order.
func recvKernelTo(ctx context.Context, c *net.TCPConn, f *os.File, size int64, hs []hash.Hash, p func(int64), abort <-chan struct{}) (int64, error) {
	return recvKernel(ctx, f, c, size, hs, p, abort)
}

// TestKernelShortStream: see testShortAndLong.
func TestKernelShortStream(t *testing.T) { testShortAndLong(t, sendKernel, recvKernelTo) }

// testShortAndLong: a stream that ends early is a short count whose hash
// covers only what arrived, and the receiver never reads beyond the
// announced size; a file shorter than announced stops the sender at its
// end, and of a longer one only the announced bytes go.
func testShortAndLong(t *testing.T, send, recv copyFunc) {
	t.Helper()
	data := randomBytes(3 << 20)
	a, b := tcpPair(t)
	go func(a *net.TCPConn) {
		a.Write(data[:1<<20+5])
		a.CloseWrite()
	}(a)
	dst := tempFile(t, nil)
	h := sha256.New()
	n, err := recv(context.Background(), b, dst, int64(len(data)), []hash.Hash{h}, nil, nil)
	if err != nil || n != 1<<20+5 {
		t.Fatalf("short stream: %d, %v; want %d, nil", n, err, 1<<20+5)
	}
	if want := sha256.Sum256(data[:n]); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("short stream: the hash is not that of the bytes received")
	}

	// More than announced: the rest stays in the socket.
	a, b = tcpPair(t)
	go func(a *net.TCPConn) {
		a.Write(data)
		a.CloseWrite()
	}(a)
	dst = tempFile(t, nil)
	n, err = recv(context.Background(), b, dst, 1000, []hash.Hash{sha256.New()}, nil, nil)
	if err != nil || n != 1000 {
		t.Fatalf("long stream: %d, %v", n, err)
	}
	if st, _ := dst.Stat(); st.Size() != 1000 {
		t.Fatalf("long stream wrote %d bytes", st.Size())
	}
	rest, _ := io.ReadAll(b)
	if len(rest) != len(data)-1000 {
		t.Fatalf("long stream: %d bytes left in the socket, want %d", len(rest), len(data)-1000)
	}

	// A file shorter than announced: the sender stops at its end.
	src := tempFile(t, data[:5000])
	a, b = tcpPair(t)
	go io.Copy(io.Discard, b)
	n, err = send(context.Background(), a, src, int64(len(data)), []hash.Hash{sha256.New()}, nil, nil)
	if n != 5000 || err != nil {
		t.Fatalf("short file: sent %d, %v", n, err)
	}

	// A file longer than announced: only the announced bytes go.
	src = tempFile(t, data)
	a, b = tcpPair(t)
	got := make(chan []byte, 1)
	go func() { all, _ := io.ReadAll(b); got <- all }()
	n, err = send(context.Background(), a, src, 7000, []hash.Hash{sha256.New()}, nil, nil)
	a.CloseWrite()
	if n != 7000 || err != nil {
		t.Fatalf("long file: sent %d, %v", n, err)
	}
	if all := <-got; !bytes.Equal(all, data[:7000]) {
		t.Fatalf("long file: the peer got %d bytes", len(all))
	}
}

// testCancel: a peer that stops reading does not block the sender past
// ctx or abort, nor a receiver whose sender stops writing.
func testCancel(t *testing.T, send, recv copyFunc) {
	t.Helper()
	data := randomBytes(64 << 20)
	src := tempFile(t, data)
	a, _ := tcpPair(t) // nobody reads
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := send(ctx, a, src, int64(len(data)), []hash.Hash{sha256.New()}, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with ctx: %v", err)
	}

	src.Seek(0, io.SeekStart)
	a, _ = tcpPair(t)
	abort := make(chan struct{})
	time.AfterFunc(100*time.Millisecond, func() { close(abort) })
	if _, err := send(context.Background(), a, src, int64(len(data)), []hash.Hash{sha256.New()}, nil, abort); !errors.Is(err, errAborted) {
		t.Fatalf("send with abort: %v", err)
	}

	a, b := tcpPair(t)
	a.Write(data[:1000]) // then silence
	abort = make(chan struct{})
	time.AfterFunc(100*time.Millisecond, func() { close(abort) })
	dst := tempFile(t, nil)
	if _, err := recv(context.Background(), b, dst, int64(len(data)), []hash.Hash{sha256.New()}, nil, abort); !errors.Is(err, errAborted) {
		t.Fatalf("receive with abort: %v", err)
	}
}

func TestKernelCancel(t *testing.T) { testCancel(t, sendKernel, recvKernelTo) }

// TestHashTruncated: a file that shrinks under the hasher is an error, not
// a silent short hash.
func TestHashTruncated(t *testing.T) {
	data := randomBytes(3 * hashBuf)
	f := tempFile(t, data)
	if err := f.Truncate(hashBuf + 4096); err != nil {
		t.Fatal(err)
	}
	if err := hashFileRange(f, 0, int64(len(data)), []hash.Hash{sha256.New()}, nil, nil, nil, nil); err == nil {
		t.Fatal("hash of a truncated file succeeded")
	}
}
