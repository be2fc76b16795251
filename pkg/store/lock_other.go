//go:build !unix

package store

import "os"

// Without flock, locking is advisory only within this process's platform
// support; the database's own transactions still keep the file consistent.
func tryLock(*os.File) error { return nil }

func unlock(*os.File) error { return nil }
