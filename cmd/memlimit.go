package cmd

import (
	"os"
	"runtime/debug"
)

// softMemoryLimit makes the garbage collector return the copies a large
// stanza leaves behind in go-xmpp's decoder before the heap doubles again
// (issue 14 defect 12: with it, a 50 MB message peaks at 185 MB instead
// of 272 MB). xmppctl streams everything else, so its live heap stays far
// below; GOMEMLIMIT, when set, wins.
func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
}
