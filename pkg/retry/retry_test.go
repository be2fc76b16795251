package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

func TestDo(t *testing.T) {
	lost := &conn.ConnectError{Lost: true, Err: errors.New("eof")}
	refused := errors.New("refused")
	noWait := func(int) time.Duration { return 0 }
	for _, tc := range []struct {
		name    string
		retries int
		errs    []error // op's result per attempt
		calls   int
		want    error
	}{
		{"ok at once", 3, []error{nil}, 1, nil},
		{"lost then ok", 3, []error{lost, lost, nil}, 3, nil},
		{"retries run out", 2, []error{lost, lost, lost, nil}, 3, lost},
		{"other errors are final", 3, []error{refused, nil}, 1, refused},
		{"tls is final", 3, []error{&conn.ConnectError{TLS: true, Err: refused}}, 1, refused},
		{"no retries", 0, []error{lost, nil}, 1, lost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, losses := 0, 0
			p := Policy{Retries: tc.retries, Backoff: noWait, OnLost: func(error, int) { losses++ }}
			err := p.Do(context.Background(), func(_ context.Context, n int) error {
				if n != calls {
					t.Errorf("attempt %d, want %d", n, calls)
				}
				calls++
				return tc.errs[n]
			})
			if calls != tc.calls || !errors.Is(err, tc.want) && err != tc.want {
				t.Errorf("calls %d err %v, want %d %v", calls, err, tc.calls, tc.want)
			}
			if tc.want == nil && losses != calls-1 {
				t.Errorf("OnLost heard %d losses, want %d", losses, calls-1)
			}
		})
	}
}

func TestBackoffBounded(t *testing.T) {
	for n := 1; n < 40; n++ {
		if d := Backoff(n); d <= 0 || d > 30*time.Second*5/4 {
			t.Errorf("Backoff(%d) = %v", n, d)
		}
	}
}
