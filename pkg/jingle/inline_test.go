package jingle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// sendInline and recvInline are the two ends of the TCP copy as SendFile
// and Receive run it.
func sendInline(ctx context.Context, conn *net.TCPConn, f io.Reader, size int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error) {
	return copyInline(ctx, conn, conn, f, size, hs, progress, abort)
}

func recvInline(ctx context.Context, f io.Writer, conn *net.TCPConn, size int64, hs []hash.Hash, progress func(int64), abort <-chan struct{}) (int64, error) {
	return copyInline(ctx, conn, f, conn, size, hs, progress, abort)
}

// TestInlinePath: both ends of the TCP copy, for sizes around the block
// and page sizes.
func TestInlinePath(t *testing.T) {
	testRoundTrip(t, []int{0, 1, 4095, 4097, inlineBuf - 1, inlineBuf, inlineBuf + 1, 3*inlineBuf + 12345},
		sendInlineFile, recvInlineFile)
}

// sendInlineFile and recvInlineFile are the inline ends as copyFuncs.
func sendInlineFile(ctx context.Context, c *net.TCPConn, f *os.File, size int64, hs []hash.Hash, p func(int64), abort <-chan struct{}) (int64, error) {
	return sendInline(ctx, c, f, size, hs, p, abort)
}

func recvInlineFile(ctx context.Context, c *net.TCPConn, f *os.File, size int64, hs []hash.Hash, p func(int64), abort <-chan struct{}) (int64, error) {
	return recvInline(ctx, f, c, size, hs, p, abort)
}

// TestInlineShortStream: see testShortAndLong.
func TestInlineShortStream(t *testing.T) { testShortAndLong(t, sendInlineFile, recvInlineFile) }

// failingWriter fails every write, like a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestInlineWriteError: a file that cannot be written ends the receive
// with that error, never with a short count that looks like the peer's.
func TestInlineWriteError(t *testing.T) {
	a, b := tcpPair(t)
	go a.Write(randomBytes(1 << 20))
	n, err := recvInline(context.Background(), failingWriter{}, b, 1<<20, []hash.Hash{sha256.New()}, nil, nil)
	if err == nil || n != 0 {
		t.Fatalf("write error: %d, %v", n, err)
	}
}

// recordWriter keeps every write, and fails the one that would take it
// past failAfter bytes (0: never).
type recordWriter struct {
	writes    [][]byte
	total     int
	failAfter int
}

func (w *recordWriter) Write(p []byte) (int, error) {
	if w.failAfter > 0 && w.total+len(p) > w.failAfter {
		return 0, errors.New("no space left on device")
	}
	w.writes = append(w.writes, append([]byte(nil), p...))
	w.total += len(p)
	return len(p), nil
}

// TestInlineFileWrites: the receiver writes the file in pieces of at most
// fileWrite bytes (larger writes are dear on a guest that gives free
// memory back, see inline.go), in order, and its hash is that of exactly
// the bytes it wrote; the sender writes the socket in whole blocks.
func TestInlineFileWrites(t *testing.T) {
	for _, size := range []int{fileWrite - 1, fileWrite, fileWrite + 1, 3*inlineBuf + 12345} {
		data := randomBytes(size)
		a, b := tcpPair(t)
		go func(a *net.TCPConn) {
			a.Write(data)
			a.CloseWrite()
		}(a)
		w := new(recordWriter)
		h := sha256.New()
		n, err := recvInline(context.Background(), w, b, int64(size), []hash.Hash{h}, nil, nil)
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: %d, %v", size, n, err)
		}
		for i, p := range w.writes {
			if len(p) == 0 || len(p) > fileWrite {
				t.Fatalf("size %d: write %d of %d bytes (max %d)", size, i, len(p), fileWrite)
			}
		}
		written := bytes.Join(w.writes, nil)
		if !bytes.Equal(written, data) {
			t.Fatalf("size %d: the writes do not add up to the data", size)
		}
		if sum := sha256.Sum256(written); !bytes.Equal(h.Sum(nil), sum[:]) {
			t.Fatalf("size %d: the hash is not that of the bytes written", size)
		}
	}
}

// TestInlineWriteFailsMidway: a disk that fills up after some pieces of a
// block ends the receive with its error; the count never includes the block
// that failed, so nothing reports it as received.
func TestInlineWriteFailsMidway(t *testing.T) {
	data := randomBytes(3 * inlineBuf)
	a, b := tcpPair(t)
	go func(a *net.TCPConn) {
		a.Write(data)
		a.CloseWrite()
	}(a)
	w := &recordWriter{failAfter: inlineBuf + fileWrite + 1}
	n, err := recvInline(context.Background(), w, b, int64(len(data)), []hash.Hash{sha256.New()}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("write failing midway: %d, %v; want the write error", n, err)
	}
	if n > int64(w.total) || w.total >= w.failAfter {
		t.Fatalf("write failing midway: count %d, written %d", n, w.total)
	}
}

// notifyWriter reports every write on a channel.
type notifyWriter chan []byte

func (w notifyWriter) Write(p []byte) (int, error) {
	w <- append([]byte(nil), p...)
	return len(p), nil
}

// TestInlineTrickle: bytes from a peer that then goes quiet are written
// (and hashed) at once, not held back until a whole block has arrived.
func TestInlineTrickle(t *testing.T) {
	a, b := tcpPair(t)
	data := randomBytes(1000)
	a.Write(data)
	w := make(notifyWriter, 1)
	abort := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		_, err := recvInline(context.Background(), w, b, 1<<20, []hash.Hash{sha256.New()}, nil, abort)
		errc <- err
	}()
	if got := <-w; !bytes.Equal(got, data) {
		t.Fatalf("wrote %d bytes, want the 1000 that arrived", len(got))
	}
	close(abort)
	if err := <-errc; !errors.Is(err, errAborted) {
		t.Fatalf("after abort: %v", err)
	}
}

// TestInlinePathChoice: only a regular file and a TCP stream take the
// inline copy; a pipe (whose reads may hang on its writer) or another
// stream goes through pump, which can be interrupted.
func TestInlinePathChoice(t *testing.T) {
	a, _ := tcpPair(t)
	f := tempFile(t, []byte("x"))
	if _, ok := inlinePath(f, a); !ok {
		t.Error("regular file + TCP: not inline")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if _, ok := inlinePath(pr, a); ok {
		t.Error("pipe + TCP: inline")
	}
	if _, ok := inlinePath(f, struct{ io.ReadWriteCloser }{}); ok {
		t.Error("file + other stream: inline")
	}
	if _, ok := inlinePath(bytes.NewReader(nil), a); ok {
		t.Error("reader + TCP: inline")
	}
}

// TestInlineCancel: see testCancel.
func TestInlineCancel(t *testing.T) { testCancel(t, sendInlineFile, recvInlineFile) }

// TestStall: a transfer in which nothing moves any more ends with a
// stall.Error after the idle time (Options.Timeout), whichever copy runs
// and whichever side went quiet; one that moves slowly is not cut.
func TestStall(t *testing.T) {
	data := randomBytes(64 << 20)
	opts := Options{Timeout: 300 * time.Millisecond}
	tests := []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"send to a reader that stopped", func(t *testing.T) error {
			a, _ := tcpPair(t)
			ctx, progress, stop := new(Session).dataPhase(context.Background(), a, opts)
			defer stop()
			_, err := sendInline(ctx, a, tempFile(t, data), int64(len(data)), []hash.Hash{sha256.New()}, progress, nil)
			return err
		}},
		{"receive from a writer that stopped", func(t *testing.T) error {
			a, b := tcpPair(t)
			a.Write(data[:1000])
			ctx, progress, stop := new(Session).dataPhase(context.Background(), b, opts)
			defer stop()
			_, err := recvInline(ctx, tempFile(t, nil), b, int64(len(data)), []hash.Hash{sha256.New()}, progress, nil)
			return err
		}},
		{"copy to a reader that stopped", func(t *testing.T) error {
			a, _ := tcpPair(t)
			ctx, progress, stop := new(Session).dataPhase(context.Background(), a, opts)
			defer stop()
			_, err := pump(ctx, a, bytes.NewReader(data), int64(len(data)), []hash.Hash{sha256.New()}, progress, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() { errc <- tt.run(t) }()
			select {
			case err := <-errc:
				if cond, _ := failReason(err, ""); cond != ReasonTimeout || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("error %v, want a stall (a timeout)", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("stalled transfer still running")
			}
		})
	}

	t.Run("slow but moving", func(t *testing.T) {
		a, b := tcpPair(t)
		small := data[:64<<10]
		// 0.8 s in all, longer than the idle bound, in gaps far shorter: the
		// pace is the input (a slow sender), so the sleep is inherent.
		go func() {
			for i := 0; i < len(small); i += 4 << 10 {
				a.Write(small[i : i+4<<10])
				time.Sleep(50 * time.Millisecond)
			}
		}()
		ctx, progress, stop := new(Session).dataPhase(context.Background(), b, Options{Timeout: 400 * time.Millisecond})
		defer stop()
		dst := tempFile(t, nil)
		if n, err := recvInline(ctx, dst, b, int64(len(small)), []hash.Hash{sha256.New()}, progress, nil); err != nil || n != int64(len(small)) {
			t.Fatalf("slow transfer: %d, %v", n, err)
		}
	})
}
