//go:build linux

package jingle

import (
	"errors"
	"fmt"
	"hash"
	"os"
	"runtime/debug"
	"syscall"
)

// mapWindow is how much of the file hashMapped maps at a time: mapped
// page-cache pages count towards RSS while mapped.
const mapWindow = 4 << 20

// hashMapped hashes length bytes of f at off (off a multiple of the page
// size) through a read-only mapping, saving the copy a read would make.
// ok is false when the file cannot be mapped; the caller then reads it. A
// file truncated underneath (SIGBUS) is an error, not a crash.
func hashMapped(f *os.File, off, length int64, hs []hash.Hash) (ok bool, err error) {
	if length == 0 || off%int64(os.Getpagesize()) != 0 {
		return false, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false, nil
	}
	var m []byte
	merr := errors.ErrUnsupported
	_ = rc.Control(func(fd uintptr) {
		m, merr = syscall.Mmap(int(fd), off, int(length), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	})
	if merr != nil {
		return false, nil
	}
	defer syscall.Munmap(m)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			ok, err = true, fmt.Errorf("read back for hashing: file changed: %v", r)
		}
	}()
	for _, h := range hs {
		h.Write(m)
	}
	return true, nil
}
