package upload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// gate lets a test hold each work call until it releases it, and see
// which calls have started.
type gate struct {
	mu      sync.Mutex
	active  int
	most    int
	started chan int
	release []chan error
}

func newGate(n int) *gate {
	g := &gate{started: make(chan int, n), release: make([]chan error, n)}
	for i := range g.release {
		g.release[i] = make(chan error, 1)
	}
	return g
}

func (g *gate) work(ctx context.Context, i int) error {
	g.mu.Lock()
	g.active++
	g.most = max(g.most, g.active)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.active--
		g.mu.Unlock()
	}()
	g.started <- i
	select {
	case err := <-g.release[i]:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestOrderedConcurrencyBound(t *testing.T) {
	for _, tt := range []struct{ n, jobs, want int }{
		{n: 10, jobs: 3, want: 3},
		{n: 5, jobs: 1, want: 1},
		{n: 2, jobs: 8, want: 2},
		{n: 3, jobs: 0, want: 1}, // at least one
	} {
		t.Run(fmt.Sprintf("n=%d,jobs=%d", tt.n, tt.jobs), func(t *testing.T) {
			g := newGate(tt.n)
			finished := make(chan struct{})
			go func() {
				defer close(finished)
				Ordered(context.Background(), tt.n, tt.jobs, g.work, func(int, error) {})
			}()
			// Wait until as many as allowed run at once, then let them
			// go one at a time: each release lets exactly one more start.
			next := 0
			for range tt.want {
				<-g.started
			}
			for next < tt.n {
				g.release[next] <- nil
				next++
				if started := tt.want + next; started <= tt.n {
					<-g.started
				}
			}
			<-finished
			if g.most != tt.want {
				t.Errorf("at most %d ran at once, want %d", g.most, tt.want)
			}
		})
	}
}

// TestOrderedOrder: results come in argument order even when later
// items finish first, and an item's result comes as soon as it and all
// before it are done, while later ones still run.
func TestOrderedOrder(t *testing.T) {
	const n = 4
	g := newGate(n)
	done := make(chan int, n)
	errs := make([]error, n)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		Ordered(context.Background(), n, n, g.work, func(i int, err error) {
			errs[i] = err
			done <- i
		})
	}()
	for range n {
		<-g.started
	}
	errThree := errors.New("three failed")
	g.release[3] <- errThree
	g.release[1] <- nil
	g.release[0] <- nil
	if got := <-done; got != 0 {
		t.Fatalf("first result for item %d, want 0", got)
	}
	if got := <-done; got != 1 {
		t.Fatalf("second result for item %d, want 1", got)
	}
	// Item 3 is done but waits for item 2, which still runs.
	select {
	case got := <-done:
		t.Fatalf("result for item %d before item 2 finished", got)
	default:
	}
	errTwo := errors.New("two failed")
	g.release[2] <- errTwo
	for _, want := range []int{2, 3} {
		if got := <-done; got != want {
			t.Fatalf("result for item %d, want %d", got, want)
		}
	}
	<-finished
	for i, want := range []error{nil, nil, errTwo, errThree} {
		if errs[i] != want {
			t.Errorf("item %d: err = %v, want %v", i, errs[i], want)
		}
	}
}

// TestOrderedCancel: after cancellation the running items end with the
// context's error, the ones not started are not run and get it too, and
// Ordered returns only after every started call returned.
func TestOrderedCancel(t *testing.T) {
	const n, jobs = 5, 2
	g := newGate(n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make([]error, n)
	calls := 0
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		Ordered(ctx, n, jobs, g.work, func(i int, err error) {
			errs[i] = err
			calls++
		})
	}()
	<-g.started
	<-g.started
	g.release[0] <- nil // item 0 succeeds; item 2 starts in its place
	<-g.started
	cancel()
	<-finished
	if calls != n {
		t.Errorf("done called %d times, want %d", calls, n)
	}
	if errs[0] != nil {
		t.Errorf("item 0: err = %v, want nil", errs[0])
	}
	for i := 1; i < n; i++ {
		if !errors.Is(errs[i], context.Canceled) {
			t.Errorf("item %d: err = %v, want context.Canceled", i, errs[i])
		}
	}
	if len(g.started) != 0 {
		t.Errorf("%d items started after the cancellation", len(g.started))
	}
	if g.active != 0 {
		t.Errorf("%d work calls still running after Ordered returned", g.active)
	}
}
