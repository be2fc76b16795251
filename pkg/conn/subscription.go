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

// Queue is an unbounded, ordered stanza queue that implements
// Subscription. The session's subscriptions are Queues; in-memory fakes of
// Session use it too, so that they behave exactly like the real thing.
type Queue struct {
	mu      sync.Mutex
	queue   []stanza.Stanza
	wake    chan struct{} // signalled (non-blocking) on push and shut
	done    bool
	onClose func()       // run by Close (e.g. unregister from the session)
	err     func() error // what Next returns once shut and drained
}

// NewQueue returns an open queue. onClose (may be nil) runs when the
// consumer calls Close; errFn (may be nil: ErrClosed) gives Next's error
// after Shut.
func NewQueue(onClose func(), errFn func() error) *Queue {
	if errFn == nil {
		errFn = func() error { return ErrClosed }
	}
	return &Queue{wake: make(chan struct{}, 1), onClose: onClose, err: errFn}
}

// Push appends a stanza.
func (q *Queue) Push(st stanza.Stanza) {
	q.mu.Lock()
	q.queue = append(q.queue, st)
	q.mu.Unlock()
	q.signal()
}

// Shut marks the end of input: Next drains what is queued, then fails.
func (q *Queue) Shut() {
	q.mu.Lock()
	q.done = true
	q.mu.Unlock()
	q.signal()
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Close implements Subscription.
func (q *Queue) Close() {
	if q.onClose != nil {
		q.onClose()
	}
	q.Shut()
}

// Poll implements Subscription.
func (q *Queue) Poll() (stanza.Stanza, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return nil, false
	}
	st := q.queue[0]
	q.queue[0] = nil
	q.queue = q.queue[1:]
	return st, true
}

// Next implements Subscription.
func (q *Queue) Next(ctx context.Context) (stanza.Stanza, error) {
	for {
		if st, ok := q.Poll(); ok {
			return st, nil
		}
		q.mu.Lock()
		done := q.done
		q.mu.Unlock()
		if done {
			return nil, q.err()
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Subscribe starts delivering incoming messages and presences. The first
// subscription of a session also receives those that arrived before it.
func (s *session) Subscribe() Subscription {
	var q *Queue
	q = NewQueue(func() {
		s.mu.Lock()
		delete(s.subs, q)
		s.mu.Unlock()
	}, s.deadErr)
	s.mu.Lock()
	if !s.subscribed {
		s.subscribed = true
		q.queue, s.early = s.early, nil
	}
	select {
	case <-s.done:
		q.done = true
	default:
		s.subs[q] = struct{}{}
	}
	s.mu.Unlock()
	return q
}
