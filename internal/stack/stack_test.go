package stack

import (
	"runtime"
	"sync"
	"testing"
)

// Each Reserve leaves the calling goroutine with a stack of at least its
// size: 64 goroutines that called it and wait hold at least half of
// 64 × size more stack than before (a goroutine that did not starts with
// 2 KiB). It fails if the compiler ever drops the frame.
func TestReserveGrowsStack(t *testing.T) {
	const n = 64
	for _, tc := range []struct {
		name string
		fn   func()
		size uint64
	}{
		{"8K", Reserve8K, 8 << 10},
		{"16K", Reserve16K, 16 << 10},
		{"32K", Reserve32K, 32 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, during runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var ready, done sync.WaitGroup
			release := make(chan struct{})
			ready.Add(n)
			done.Add(n)
			for range n {
				go func() {
					defer done.Done()
					tc.fn()
					ready.Done()
					<-release
				}()
			}
			ready.Wait()
			runtime.ReadMemStats(&during)
			close(release)
			done.Wait()
			if grown := during.StackInuse - before.StackInuse; grown < n*tc.size/2 {
				t.Errorf("%d goroutines after Reserve%s: stacks grew by %d bytes, want at least %d", n, tc.name, grown, n*tc.size/2)
			}
		})
	}
}
