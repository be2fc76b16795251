package e2e

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// receiver is a second account online to observe what arrives.
type receiver struct {
	s   conn.Session
	sub conn.Subscription
}

func online(t *testing.T, user string) *receiver {
	t.Helper()
	s := srv.Dial(t, user)
	r := &receiver{s: s, sub: s.Subscribe()}
	t.Cleanup(r.sub.Close)
	// The login presence must be processed before anyone sends to us.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// message waits for the next message matching pred.
func (r *receiver) message(t *testing.T, timeout time.Duration, pred func(*stanza.Message) bool) *stanza.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		st, err := r.sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for a message: %v", err)
		}
		if m, ok := st.(*stanza.Message); ok && pred(m) {
			return m
		}
	}
}

// messages collects every message matching pred until quiet for idle.
func (r *receiver) messages(idle time.Duration, pred func(*stanza.Message) bool) []*stanza.Message {
	var out []*stanza.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), idle)
		st, err := r.sub.Next(ctx)
		cancel()
		if err != nil {
			return out
		}
		if m, ok := st.(*stanza.Message); ok && pred(m) {
			out = append(out, m)
		}
	}
}

func fromUser(user string) func(*stanza.Message) bool {
	return func(m *stanza.Message) bool {
		return strings.HasPrefix(m.From, srv.JID(user)+"/") && m.Body != ""
	}
}

// silentListener accepts TCP connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

// refusedByAccessModel reports a PEP read refused by the node's access
// model: Prosody says forbidden, ejabberd not-authorized (with
// presence-subscription-required, as XEP-0060 §6.5.9.2 has it).
func refusedByAccessModel(stderr string) bool {
	return strings.Contains(stderr, "forbidden") || strings.Contains(stderr, "not-authorized")
}
