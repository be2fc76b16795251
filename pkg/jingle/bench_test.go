package jingle

import (
	"context"
	"crypto/sha256"
	"hash"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// The data path against its references, in one run:
//
//	go test -run XXX -bench . -benchtime 5x ./pkg/jingle
//
// BenchmarkRawCopy is a plain file → TCP → file copy with 1 MiB buffers and
// no hashing (what a tuned socat does); BenchmarkHashOnly is one SHA-256
// pass over the same bytes, which each side of a transfer has to pay;
// BenchmarkInlinePath is the transfer as jingle-send/-receive run it (read,
// hash, write on both ends, SHA-256 on both); BenchmarkKernelPath is the
// kernel path it replaced (sendfile + splice, the hashes reading the file
// back; kernel_ref_test.go) and BenchmarkKernelPathNoHash that copy without
// the hashes; BenchmarkHashFileRange is the kernel path's hashing goroutine
// alone (read-back + SHA-256). Their MB/s give the ratios, cpu-s/GiB the
// CPU time of both ends together (they run in this one process).

const benchSize = 64 << 20

// benchCopy times send and receive running against each other over a
// loopback TCP connection, from a file of benchSize bytes into another.
func benchCopy(b *testing.B, send func(*net.TCPConn, *os.File) error, recv func(*os.File, *net.TCPConn) error) {
	data := randomBytes(benchSize)
	b.SetBytes(benchSize)
	var cpu time.Duration
	defer func() { b.ReportMetric(cpu.Seconds()/float64(b.N)*float64(1<<30)/benchSize, "cpu-s/GiB") }()
	for b.Loop() {
		b.StopTimer()
		src, dst := tempFile(b, data), tempFile(b, nil)
		before := processCPU()
		a, c := tcpPair(b)
		b.StartTimer()
		errc := make(chan error, 1)
		go func() { errc <- send(a, src) }()
		if err := recv(dst, c); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - before
	}
}

// processCPU is the user + system time of this process so far: both ends
// of the copy run in it, so a difference is their CPU together.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// kernelCopy is the transfer's copy, hashing with SHA-256 on both ends
// when hashed.
func kernelCopy(b *testing.B, hashed bool) {
	hs := func() []hash.Hash {
		if hashed {
			return []hash.Hash{sha256.New()}
		}
		return nil
	}
	benchCopy(b, func(a *net.TCPConn, src *os.File) error {
		_, err := sendKernel(context.Background(), a, src, benchSize, hs(), nil, nil)
		return err
	}, func(dst *os.File, c *net.TCPConn) error {
		_, err := recvKernel(context.Background(), dst, c, benchSize, hs(), nil, nil)
		return err
	})
}

func BenchmarkKernelPath(b *testing.B) { kernelCopy(b, true) }

// BenchmarkInlinePath is the transfer as jingle-send/-receive run it: each
// end reads a 1 MiB block, hashes it and writes it (the receiver's file in
// fileWrite pieces), in one goroutine.
func BenchmarkInlinePath(b *testing.B) {
	benchCopy(b, func(a *net.TCPConn, src *os.File) error {
		_, err := sendInline(context.Background(), a, src, benchSize, []hash.Hash{sha256.New()}, nil, nil)
		return err
	}, func(dst *os.File, c *net.TCPConn) error {
		_, err := recvInline(context.Background(), dst, c, benchSize, []hash.Hash{sha256.New()}, nil, nil)
		return err
	})
}

// BenchmarkKernelPathNoHash is the kernel copy alone, to tell the cost of
// the data path from that of the two hashes.
func BenchmarkKernelPathNoHash(b *testing.B) { kernelCopy(b, false) }

func BenchmarkRawCopy(b *testing.B) {
	// The struct wrappers hide ReadFrom/WriteTo: a user-space copy.
	benchCopy(b, func(a *net.TCPConn, src *os.File) error {
		_, err := io.CopyBuffer(struct{ io.Writer }{a}, struct{ io.Reader }{src}, make([]byte, 1<<20))
		a.CloseWrite()
		return err
	}, func(dst *os.File, c *net.TCPConn) error {
		_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{c}, make([]byte, 1<<20))
		return err
	})
}

func BenchmarkHashOnly(b *testing.B) {
	data := randomBytes(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		h := sha256.New()
		h.Write(data)
		h.Sum(nil)
	}
}

// BenchmarkHashFileRange is the hashing goroutine of the kernel path alone:
// SHA-256 of a file read back through the page cache in hashBuf blocks.
// Against BenchmarkHashOnly it shows what the read-back copy costs.
func BenchmarkHashFileRange(b *testing.B) {
	f := tempFile(b, randomBytes(benchSize))
	b.SetBytes(benchSize)
	for b.Loop() {
		h := sha256.New()
		if err := hashFileRange(f, 0, benchSize, []hash.Hash{h}, nil, nil, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
