// Package retry runs an operation again after a lost connection, with
// bounded exponential backoff: what the commands that run for a while
// (send --lines, archive sync, sharing an upload) do when the network
// drops under them. Only a lost connection is retried; a refusal, bad
// input or the caller's context ends it at once.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

// Backoff is the wait before attempt n (1-based): 250 ms doubling up to
// 30 s, with ±25% jitter so that the clients of one restarted server do not
// all come back at the same moment.
func Backoff(n int) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	d = min(d, 30*time.Second)
	return d - d/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Lost reports whether err means the connection is gone (not a TLS or
// certificate problem, which another attempt would not fix).
func Lost(err error) bool {
	var ce *conn.ConnectError
	return errors.As(err, &ce) && !ce.TLS || errors.Is(err, conn.ErrClosed)
}

// Policy bounds the attempts.
type Policy struct {
	Retries int                       // attempts after the first
	Backoff func(n int) time.Duration // nil: Backoff
	OnLost  func(err error, n int)    // hears of each loss before retry n
}

// Do runs op, and again after each lost connection while retries last.
// op gets the attempt number (0 for the first).
func (p Policy) Do(ctx context.Context, op func(ctx context.Context, attempt int) error) error {
	backoff := p.Backoff
	if backoff == nil {
		backoff = Backoff
	}
	for n := 0; ; n++ {
		err := op(ctx, n)
		if err == nil || !Lost(err) || ctx.Err() != nil || n >= p.Retries {
			return err
		}
		if p.OnLost != nil {
			p.OnLost(err, n+1)
		}
		t := time.NewTimer(backoff(n + 1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}
