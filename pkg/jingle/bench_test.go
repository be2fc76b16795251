package jingle

import (
	"context"
	"crypto/sha256"
	"hash"
	"io"
	"testing"
)

// The data path against its references, in one run:
//
//	go test -run XXX -bench . -benchtime 5x ./pkg/jingle
//
// BenchmarkRawCopy is a plain file → TCP → file copy with 1 MiB buffers and
// no hashing (what a tuned socat does); BenchmarkHashOnly is one SHA-256
// pass over the same bytes, which each side of a transfer has to pay;
// BenchmarkKernelPath is the transfer as jingle-send/-receive run it
// (sendfile + splice, SHA-256 on both ends) and BenchmarkKernelPathNoHash
// the same copy without the hashes. Their MB/s give the ratios.

const benchSize = 64 << 20

func BenchmarkKernelPath(b *testing.B) {
	data := randomBytes(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		b.StopTimer()
		src, dst := tempFile(b, data), tempFile(b, nil)
		a, c := tcpPair(b)
		b.StartTimer()
		errc := make(chan error, 1)
		go func() {
			_, err := sendKernel(context.Background(), a, src, benchSize, []hash.Hash{sha256.New()}, nil, nil)
			errc <- err
		}()
		if _, err := recvKernel(context.Background(), dst, c, benchSize, []hash.Hash{sha256.New()}, nil, nil); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawCopy(b *testing.B) {
	data := randomBytes(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		b.StopTimer()
		src, dst := tempFile(b, data), tempFile(b, nil)
		a, c := tcpPair(b)
		b.StartTimer()
		errc := make(chan error, 1)
		go func() {
			buf := make([]byte, 1<<20)
			_, err := io.CopyBuffer(struct{ io.Writer }{a}, struct{ io.Reader }{src}, buf)
			a.CloseWrite()
			errc <- err
		}()
		buf := make([]byte, 1<<20)
		if _, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{c}, buf); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
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

// BenchmarkKernelPathNoHash is the kernel copy alone, to tell the cost of
// the data path from that of the two hashes.
func BenchmarkKernelPathNoHash(b *testing.B) {
	data := randomBytes(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		b.StopTimer()
		src, dst := tempFile(b, data), tempFile(b, nil)
		a, c := tcpPair(b)
		b.StartTimer()
		errc := make(chan error, 1)
		go func() {
			_, err := sendKernel(context.Background(), a, src, benchSize, nil, nil, nil)
			errc <- err
		}()
		if _, err := recvKernel(context.Background(), dst, c, benchSize, nil, nil, nil); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
}
