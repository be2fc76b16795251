package cmd

import (
	"os"
	"runtime/debug"
)

// softMemoryLimit bounds the garbage a large stanza leaves behind (issue
// 14 defect 12). go-xmpp decodes each stanza's text into a buffer that
// doubles as it grows, and its debug copy of the stream (which the tap
// reads) allocates about twice the stream's bytes in small chunks: with
// only GOGC, that garbage grows the heap to twice the stanza's live
// copies. Under the limit the collector runs as the heap passes it, so
// the peak stays near what is live: a 10 MB message dropped as oversize
// peaked at 79 MB RSS with 64 MiB, 58 MB with 32 MiB (19 MB for a small
// one). xmppctl streams everything else, so its live heap stays far below
// the limit and the collector runs as usual; GOMEMLIMIT, when set, wins.
func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(32 << 20)
	}
}
