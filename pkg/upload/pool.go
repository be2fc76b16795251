package upload

import (
	"context"
	"sync"
)

// Ordered runs work(ctx, i) for i from 0 to n-1, at most jobs at a time,
// started in that order, and calls done(i, err) in that order as soon as
// item i and every item before it have finished, so results can be
// printed in argument order while later items still run. Once ctx is
// done, items not yet started are not run: their err is ctx.Err().
// Ordered returns after every work call has returned and every done call
// was made; done runs on the caller's goroutine.
func Ordered(ctx context.Context, n, jobs int, work func(ctx context.Context, i int) error, done func(i int, err error)) {
	jobs = max(jobs, 1)
	finished := make([]chan struct{}, n)
	errs := make([]error, n)
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // starts the work in order
		defer wg.Done()
		for i := range n {
			if err := ctx.Err(); err != nil { // select would pick at random
				errs[i] = err
				close(finished[i])
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				close(finished[i])
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(finished[i])
				defer func() { <-sem }()
				errs[i] = work(ctx, i)
			}()
		}
	}()
	for i := range n {
		<-finished[i]
		done(i, errs[i])
	}
	wg.Wait()
}
