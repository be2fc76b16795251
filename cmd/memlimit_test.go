package cmd

import "testing"

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
