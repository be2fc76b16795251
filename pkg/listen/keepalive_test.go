package listen

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// frozen never answers an IQ, as a connection through a dead route.
type frozen struct{ *xmpptest.Session }

func (f frozen) SendIQ(ctx context.Context, iq stanza.IQ) (*stanza.IQ, error) {
	if err := f.Send(ctx, iq); err != nil {
		return nil, err
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestPing(t *testing.T) {
	errReply := xmpptest.New()
	errReply.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		se := &stanza.Error{Type: "cancel", Condition: "service-unavailable"}
		return &stanza.IQ{Type: "error", Error: se}, se
	}
	for _, tc := range []struct {
		name string
		s    conn.Session
		lost bool
	}{
		{"answered", xmpptest.New(), false},
		{"error reply is an answer", errReply, false},
		{"no answer", frozen{xmpptest.New()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Ping(context.Background(), tc.s, 20*time.Millisecond)
			var ce *conn.ConnectError
			if got := errors.As(err, &ce) && ce.Lost; got != tc.lost {
				t.Errorf("Ping: %v, lost %v, want lost %v", err, got, tc.lost)
			}
		})
	}
}

// A silent frozen session ends Serve as lost; the keepalive sent a ping.
func TestKeepaliveEndsFrozenSession(t *testing.T) {
	s := frozen{xmpptest.New()}
	l := New(Options{Keepalive: 20 * time.Millisecond, Warn: func(string, ...any) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := l.next(ctx, s, s.Subscribe())
	var ce *conn.ConnectError
	if !errors.As(err, &ce) || !ce.Lost {
		t.Fatalf("next on a frozen session: %v, want a lost connection", err)
	}
	if len(s.Sent()) != 1 {
		t.Errorf("%d stanzas sent, want the one ping", len(s.Sent()))
	}
}
