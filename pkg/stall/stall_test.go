package stall

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchEndsAStall(t *testing.T) {
	ctx, stop := Watch(context.Background(), 50*time.Millisecond, func() int64 { return 7 })
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a counter that never moved did not end the context")
	}
	var se *Error
	if cause := context.Cause(ctx); !errors.As(cause, &se) || se.Idle != 50*time.Millisecond {
		t.Fatalf("cause %v, want a stall of 50ms", cause)
	}
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Error("a stall is not a timeout for errors.Is")
	}
}

func TestWatchKeepsAMovingTransfer(t *testing.T) {
	var n atomic.Int64
	ctx, stop := Watch(context.Background(), 250*time.Millisecond, n.Load)
	// The pace is the input here (progress in gaps far shorter than the
	// idle bound), not a wait for something to happen: the sleep is inherent.
	for range 40 {
		n.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("moving transfer ended: %v", context.Cause(ctx))
	}
	stop()
	stop() // twice is fine
	if !errors.Is(ctx.Err(), context.Canceled) || context.Cause(ctx) != context.Canceled {
		t.Fatalf("after stop: %v / %v", ctx.Err(), context.Cause(ctx))
	}
}

func TestWatchDisabled(t *testing.T) {
	for _, idle := range []time.Duration{0, -1} {
		ctx, stop := Watch(context.Background(), idle, func() int64 { return 0 })
		// Something must not happen: no event to wait for, so some time
		// passes (a watch with idle 20ms would have fired by then).
		time.Sleep(20 * time.Millisecond)
		if ctx.Err() != nil {
			t.Errorf("idle %v: context ended", idle)
		}
		stop()
	}
}

func TestWatchFollowsParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := Watch(parent, time.Hour, func() int64 { return 0 })
	defer stop()
	cancel()
	<-ctx.Done()
	if context.Cause(ctx) != context.Canceled {
		t.Fatalf("cause %v", context.Cause(ctx))
	}
}

func TestInterruptUnblocksConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stop := Interrupt(ctx, a, "not a conn")
	defer stop()
	errc := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("read succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still blocked after the context ended")
	}
}

type aborter struct{ err chan error }

func (a aborter) Abort(err error) { a.err <- err }

func TestInterruptAborts(t *testing.T) {
	a := aborter{make(chan error, 1)}
	ctx, stop := Watch(context.Background(), 20*time.Millisecond, func() int64 { return 0 })
	defer stop()
	defer Interrupt(ctx, a)()
	select {
	case err := <-a.err:
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("aborted with %v, want the stall", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not aborted")
	}
}

func TestTCPMoved(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := <-accepted
	defer b.Close()
	if TCPMoved(struct{}{}) != nil {
		t.Error("counter for a non-TCP value")
	}
	sent, got := TCPMoved(a), TCPMoved(b)
	if sent == nil || got == nil {
		t.Skip("no TCP counters on this system")
	}
	if _, err := a.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	// The kernel's acked-bytes counter catches up with the peer's ACK on
	// its own: there is nothing to wait on but the counter, polled.
	deadline := time.Now().Add(10 * time.Second)
	for sent() < 1000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if sent() < 1000 || got() < 1 {
		t.Fatalf("counters: sent %d, received %d", sent(), got())
	}
	if s := Sum(sent, nil, got)(); s != sent()+got() {
		t.Errorf("sum %d", s)
	}
}
