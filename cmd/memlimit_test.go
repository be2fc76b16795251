package cmd

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestSyncLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		live uint64
		ok   bool
		want int64
	}{
		{"small page", 2 << 20, true, syncMemoryLimit},
		{"at the bound", syncLiveMax, true, syncMemoryLimit},
		// Pages of large messages: under the tight limit the collector
		// would run all the time.
		{"large pages", syncLiveMax + 1, true, defaultMemoryLimit},
		{"huge", 200 << 20, true, defaultMemoryLimit},
		// A runtime without the metric: no tight limit.
		{"unknown", 0, false, defaultMemoryLimit},
	} {
		if got := syncLimit(tc.live, tc.ok); got != tc.want {
			t.Errorf("%s: syncLimit(%d, %v) = %d, want %d", tc.name, tc.live, tc.ok, got, tc.want)
		}
	}
}

// TestTightenForSync: the sync's limit is set, goes back to the default
// once the live heap is over syncLiveMax (pages of large messages), and
// GOMEMLIMIT wins.
func TestTightenForSync(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "")
	check := tightenForSync()
	if got := debug.SetMemoryLimit(-1); got != syncMemoryLimit {
		t.Fatalf("limit while syncing %d, want %d", got, syncMemoryLimit)
	}
	big := make([]byte, 2*syncLiveMax)
	for i := range big {
		big[i] = byte(i)
	}
	runtime.GC() // the live heap the check reads is the last collection's
	check()
	runtime.KeepAlive(big)
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit {
		t.Fatalf("limit with %d MiB live %d, want %d", len(big)>>20, got, defaultMemoryLimit)
	}
	big = nil
	runtime.GC()
	check() // once loosened, it stays so for the run
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit {
		t.Fatalf("limit after the large pages %d, want %d", got, defaultMemoryLimit)
	}

	debug.SetMemoryLimit(prev)
	t.Setenv("GOMEMLIMIT", "100MiB")
	tightenForSync()()
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Fatalf("limit with GOMEMLIMIT set %d, want it untouched (%d)", got, prev)
	}
}
