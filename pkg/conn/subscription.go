package conn

import (
	"context"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Subscription receives incoming messages and presences. Its queue is
// unbounded so that a slow consumer never stalls the receive loop (and with
// it every IQ response). Stanzas are queued in the order the server sent
// them, before any later IQ response is delivered: after Flush returns,
// every bounce caused by what was sent before it is already queued.
type Subscription interface {
	// Next waits for the next stanza. It returns the session's error (or
	// ErrClosed) once the stream has ended and the queue is empty.
	Next(ctx context.Context) (stanza.Stanza, error)
	// Poll returns the next queued stanza without waiting.
	Poll() (stanza.Stanza, bool)
	// Close stops the subscription.
	Close()
}

type subscription struct {
	s     *session
	mu    sync.Mutex
	queue []stanza.Stanza
	wake  chan struct{} // signalled (non-blocking) on push and close
	done  bool
}

// Subscribe starts delivering incoming messages and presences. The first
// subscription of a session also receives those that arrived before it.
func (s *session) Subscribe() Subscription {
	sub := &subscription{s: s, wake: make(chan struct{}, 1)}
	s.mu.Lock()
	if !s.subscribed {
		// The first subscriber also gets what arrived before it.
		s.subscribed = true
		sub.queue, s.early = s.early, nil
	}
	select {
	case <-s.done:
		sub.done = true
	default:
		s.subs[sub] = struct{}{}
	}
	s.mu.Unlock()
	return sub
}

func (sub *subscription) push(st stanza.Stanza) {
	sub.mu.Lock()
	sub.queue = append(sub.queue, st)
	sub.mu.Unlock()
	sub.signal()
}

func (sub *subscription) signal() {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscription) close() {
	sub.mu.Lock()
	sub.done = true
	sub.mu.Unlock()
	sub.signal()
}

func (sub *subscription) Close() {
	sub.s.mu.Lock()
	delete(sub.s.subs, sub)
	sub.s.mu.Unlock()
	sub.close()
}

func (sub *subscription) Poll() (stanza.Stanza, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.queue) == 0 {
		return nil, false
	}
	st := sub.queue[0]
	sub.queue[0] = nil
	sub.queue = sub.queue[1:]
	return st, true
}

func (sub *subscription) Next(ctx context.Context) (stanza.Stanza, error) {
	for {
		if st, ok := sub.Poll(); ok {
			return st, nil
		}
		sub.mu.Lock()
		done := sub.done
		sub.mu.Unlock()
		if done {
			return nil, sub.s.deadErr()
		}
		select {
		case <-sub.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
