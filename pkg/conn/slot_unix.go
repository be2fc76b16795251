//go:build unix

package conn

import (
	"errors"
	"os"
	"syscall"
)

// errSlotTaken: another process holds the slot.
var errSlotTaken = errors.New("slot taken")

// slotLock is a held slot; f is nil when the file system has no locks.
type slotLock struct {
	f *os.File
}

// lockSlot takes slot n of dir for this process: an exclusive, non-blocking
// flock on its lock file (0600, close-on-exec so that no child process
// inherits it and outlives us holding it).
func lockSlot(dir string, n int) (*slotLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(slotFile(dir, n), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errSlotTaken
		}
		return nil, err
	}
	return &slotLock{f: f}, nil
}
