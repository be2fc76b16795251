package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrLocked reports that another process holds the lock.
var ErrLocked = errors.New("locked by another xmppctl process")

// Lock is an exclusive per-account lock in the data directory, held by
// archive syncs so that two of them never interleave their pages and sync
// points. It is released when the process ends, however it ends.
type Lock struct {
	f *os.File
}

// LockPath returns the lock file of an account.
func LockPath(dir, account string) string {
	h := sha256.Sum256([]byte(Bare(account)))
	return filepath.Join(dir, "sync-"+hex.EncodeToString(h[:6])+".lock")
}

// Acquire takes the account's lock, waiting (polling) until ctx ends.
// waiting, if not nil, is called once when the lock is busy.
func Acquire(ctx context.Context, dir, account string, waiting func()) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := LockPath(dir, account)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	told := false
	for {
		err := tryLock(f)
		if err == nil {
			_ = f.Truncate(0)
			_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, ErrLocked) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("archive of %s: %w: %w", account, ErrLocked, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = unlock(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
