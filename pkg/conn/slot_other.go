//go:build !unix

package conn

import "errors"

var errSlotTaken = errors.New("slot taken")

type slotLock struct{}

// lockSlot has no portable flock: every session uses slot 0, the
// behaviour before slots.
func lockSlot(string, int) (*slotLock, error) { return nil, errors.New("no file locks here") }
