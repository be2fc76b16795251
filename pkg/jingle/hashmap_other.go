//go:build !linux

package jingle

import (
	"hash"
	"os"
)

const mapWindow = 1 << 20

func hashMapped(*os.File, int64, int64, []hash.Hash) (bool, error) { return false, nil }
