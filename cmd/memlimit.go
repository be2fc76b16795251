package cmd

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

const (
	// defaultMemoryLimit bounds the garbage a large stanza leaves behind
	// (issue 14 defect 12). go-xmpp decodes each stanza's text into a
	// buffer that doubles as it grows, and its debug copy of the stream
	// (which the tap reads) allocates about twice the stream's bytes in
	// small chunks: with only GOGC, that garbage grows the heap to twice
	// the stanza's live copies. Under the limit the collector runs as the
	// heap passes it, so the peak stays near what is live: a 10 MB message
	// dropped as oversize peaked at 79 MB RSS with 64 MiB, 58 MB with 32
	// MiB (19 MB for a small one). xmppctl streams everything else, so its
	// live heap stays far below the limit and the collector runs as usual;
	// GOMEMLIMIT, when set, wins.
	defaultMemoryLimit = 32 << 20

	// syncMemoryLimit is the limit while an archive sync stores its pages
	// (issue 16). A sync's live heap is the page in hand, 1–2 MiB after
	// each collection, but GOGC lets the heap reach its 4 MiB minimum
	// before collecting, and the freed spans stay mapped until the
	// background scavenger returns them, slowly: the Go heap was 7.5 of
	// the 26 MiB peak of a sync of 10,000 messages. Under 12 MiB (all of
	// the runtime's memory: heap, stacks, metadata) the collector and the
	// scavenger keep that nearer what is live: 1.6–1.7 MiB less peak RSS
	// in two sets of paired rounds (6 and 10), whose CPU differences
	// (0.97, 1.07) were within their noise; 11 MiB saved 0.9 MiB more,
	// at 1.17 of the CPU without a limit (6 pairs).
	syncMemoryLimit = 12 << 20

	// syncLiveMax is the live heap above which the sync goes back to the
	// default limit: pages of large messages would otherwise keep the
	// collector running, up to the half of the CPU its limiter allows.
	syncLiveMax = 3 << 20
)

// softMemoryLimit sets defaultMemoryLimit, unless GOMEMLIMIT is set.
func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// syncLimit is the memory limit for a sync whose live heap, as the last
// collection measured it, is live bytes (ok false: unknown).
func syncLimit(live uint64, ok bool) int64 {
	if !ok || live > syncLiveMax {
		return defaultMemoryLimit
	}
	return syncMemoryLimit
}

// tightenForSync sets the sync's memory limit and returns what to call
// after each batch of pages: it goes back to the default limit, for the
// rest of the run, once the live heap outgrows the tight one.
func tightenForSync() (check func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	debug.SetMemoryLimit(syncMemoryLimit)
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	loose := false
	return func() {
		if loose {
			return
		}
		metrics.Read(live)
		ok := live[0].Value.Kind() == metrics.KindUint64
		var n uint64
		if ok {
			n = live[0].Value.Uint64()
		}
		if l := syncLimit(n, ok); l != syncMemoryLimit {
			debug.SetMemoryLimit(l)
			loose = true
		}
	}
}
