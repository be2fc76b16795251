package stall

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Error is the cause of a watched context that ended because nothing moved
// for Idle.
type Error struct{ Idle time.Duration }

func (e *Error) Error() string { return fmt.Sprintf("no data moved for %s", e.Idle) }

// Is makes a stall a timeout for errors.Is, so that it maps to the timeout
// exit status like every other wait that ran out.
func (e *Error) Is(target error) bool { return target == context.DeadlineExceeded }

// Watch returns a context that ends with an *Error as its cause once
// moved has returned the same value for idle (checked a few times per
// idle period); idle <= 0 watches nothing. stop ends the watch and must be
// called when the transfer is over.
func Watch(ctx context.Context, idle time.Duration, moved func() int64) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if idle <= 0 || moved == nil {
		return ctx, func() { cancel(nil) }
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(min(max(idle/8, 5*time.Millisecond), time.Second))
		defer t.Stop()
		last, since := moved(), time.Now()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				if m := moved(); m != last {
					last, since = m, now
				} else if now.Sub(since) >= idle {
					cancel(&Error{Idle: idle})
					return
				}
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			cancel(nil)
		})
	}
}

// Interrupt makes blocked I/O on the given values fail as soon as ctx
// ends: those with deadlines (net.Conn) get one in the past, those with an
// Abort(error) method (in-band streams) are aborted with ctx's cause. The
// returned stop ends the watch; it reports false when the interruption
// happened.
func Interrupt(ctx context.Context, rws ...any) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		for _, rw := range rws {
			switch v := rw.(type) {
			case interface{ SetDeadline(time.Time) error }:
				_ = v.SetDeadline(aLongTimeAgo)
			case interface{ Abort(error) }:
				v.Abort(context.Cause(ctx))
			}
		}
	})
}

var aLongTimeAgo = time.Unix(1, 0)
