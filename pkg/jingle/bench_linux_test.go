package jingle

import (
	"crypto/sha256"
	"hash"
	"os"
	"syscall"
	"testing"
)

// BenchmarkHashReadBack is the choice behind the data path (inline.go):
// SHA-256 of a file in the page cache read back with pread into a reused
// 1 MiB buffer (what the kernel path's hashing goroutine does) against the
// same file mapped in 4 MiB windows (MAP_POPULATE, unmapped after each),
// which saves the copy. On the guest of issue 16 the mapped pass costs
// about twice the CPU: every page of a new mapping is a shadow page-table
// fault there, more than the copy it saves (with the file's page cache in
// small folios, as a received file's is). cpu-s/GiB is the figure to
// compare.
func BenchmarkHashReadBack(b *testing.B) {
	// Written as the receiver writes it (fileWrite pieces): the page cache's
	// folios then have the size a received file's have. A file written in
	// one call gets large folios, which map with far fewer faults.
	f := tempFile(b, nil)
	if err := writePieces(f, randomBytes(benchSize), fileWrite); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, hashIt func(h hash.Hash) error) {
		b.SetBytes(benchSize)
		before := processCPU()
		for b.Loop() {
			if err := hashIt(sha256.New()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((processCPU()-before).Seconds()/float64(b.N)*float64(1<<30)/benchSize, "cpu-s/GiB")
	}
	b.Run("pread-1MiB", func(b *testing.B) {
		run(b, func(h hash.Hash) error {
			return hashFileRange(f, 0, benchSize, []hash.Hash{h}, nil, nil, nil, nil)
		})
	})
	b.Run("mmap-4MiB", func(b *testing.B) {
		run(b, func(h hash.Hash) error { return hashMapped(f, benchSize, 4<<20, h) })
	})
}

// hashMapped hashes size bytes of f through read-only mappings of window
// bytes at a time. Benchmark only: a file truncated under a mapping would
// fault (SIGBUS), which the data path would have to turn into an error.
func hashMapped(f *os.File, size int64, window int, h hash.Hash) error {
	for off := int64(0); off < size; off += int64(window) {
		n := int(min(int64(window), size-off))
		m, err := syscall.Mmap(int(f.Fd()), off, n, syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return err
		}
		h.Write(m)
		if err := syscall.Munmap(m); err != nil {
			return err
		}
	}
	return nil
}
