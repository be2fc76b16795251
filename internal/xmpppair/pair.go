// Package xmpppair connects two in-memory conn.Sessions to each other for
// unit tests of peer-to-peer protocols (Jingle, IBB, SI): an IQ one side
// sends is marshalled, decoded and handed to the other side's handler in
// its own goroutine, as the real session does; results and errors come
// back the same way. IQs to any other address go to a Server function.
package xmpppair

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Session is one end of a pair. It implements conn.Session.
type Session struct {
	jid, domain string
	peer        *Session
	// Server answers IQs not addressed to the peer (the domain, a proxy);
	// nil answers service-unavailable.
	Server func(iq *stanza.IQ) (any, error)

	mu       sync.Mutex
	handlers map[xml.Name]conn.IQHandler
	subs     []*conn.Queue
	sent     []any
	done     chan struct{}
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
}

var _ conn.Session = (*Session)(nil)

// New returns two sessions connected to each other.
func New(jidA, jidB string) (*Session, *Session) {
	a, b := newSession(jidA), newSession(jidB)
	a.peer, b.peer = b, a
	return a, b
}

func newSession(jid string) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	domain := jid
	for i := 0; i < len(domain); i++ {
		if domain[i] == '@' {
			domain = domain[i+1:]
			break
		}
	}
	for i := 0; i < len(domain); i++ {
		if domain[i] == '/' {
			domain = domain[:i]
			break
		}
	}
	return &Session{jid: jid, domain: domain, handlers: map[xml.Name]conn.IQHandler{},
		done: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// JID implements conn.Session.
func (s *Session) JID() string { return s.jid }

// Domain implements conn.Session.
func (s *Session) Domain() string { return s.domain }

// Sent returns the stanzas passed to Send (not SendIQ).
func (s *Session) Sent() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]any(nil), s.sent...)
}

func roundTrip(v any, into any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	return xml.Unmarshal(b, into)
}

func (s *Session) alive() error {
	select {
	case <-s.done:
		return conn.ErrClosed
	default:
		return nil
	}
}

// Send implements conn.Session: messages and presences reach the peer's
// subscriptions; anything else is only recorded.
func (s *Session) Send(ctx context.Context, v any) error {
	if err := s.alive(); err != nil {
		return err
	}
	s.mu.Lock()
	s.sent = append(s.sent, v)
	s.mu.Unlock()
	if m, ok := v.(*stanza.Message); ok {
		v = *m // the outbox sends its messages by pointer
	}
	switch v := v.(type) {
	case stanza.Message:
		var m stanza.Message
		if err := roundTrip(v, &m); err != nil {
			return err
		}
		m.From = s.jid
		s.peer.push(&m)
	case stanza.Presence:
		var p stanza.Presence
		if err := roundTrip(v, &p); err != nil {
			return err
		}
		p.From = s.jid
		s.peer.push(&p)
	}
	return nil
}

// SendIQ implements conn.Session.
func (s *Session) SendIQ(ctx context.Context, iq stanza.IQ) (*stanza.IQ, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	var in stanza.IQ
	if err := roundTrip(iq, &in); err != nil {
		return nil, fmt.Errorf("marshal iq: %w", err)
	}
	in.From = s.jid
	type res struct {
		payload any
		err     error
	}
	ch := make(chan res, 1)
	go func() {
		if in.To != s.peer.jid {
			if s.Server == nil {
				ch <- res{nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}}
				return
			}
			p, err := s.Server(&in)
			ch <- res{p, err}
			return
		}
		if s.peer.alive() != nil {
			ch <- res{nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}}
			return
		}
		s.peer.mu.Lock()
		h := s.peer.handlers[in.Query.XMLName]
		s.peer.mu.Unlock()
		if h == nil {
			ch <- res{nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}}
			return
		}
		p, err := h(s.peer.ctx, &in)
		ch <- res{p, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			var se *stanza.Error
			if !errors.As(r.err, &se) {
				se = &stanza.Error{Type: stanza.Cancel, Condition: stanza.InternalServerError}
			}
			return &stanza.IQ{Type: stanza.ErrorIQ, ID: iq.ID, From: iq.To, To: s.jid, Error: se}, se
		}
		out := &stanza.IQ{Type: stanza.ResultIQ, ID: iq.ID, From: iq.To, To: s.jid}
		if r.payload != nil {
			var el stanza.Element
			if err := roundTrip(r.payload, &el); err != nil {
				return nil, err
			}
			out.Query = el
		}
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, conn.ErrClosed
	}
}

// Flush implements conn.Session.
func (s *Session) Flush(ctx context.Context) error { return s.alive() }

// HandleIQ implements conn.Session.
func (s *Session) HandleIQ(space, local string, h conn.IQHandler) {
	s.mu.Lock()
	s.handlers[xml.Name{Space: space, Local: local}] = h
	s.mu.Unlock()
}

// Done implements conn.Session.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err implements conn.Session.
func (s *Session) Err() error { <-s.done; return nil }

// Close implements conn.Session.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.cancel()
		close(s.done)
		for _, sb := range s.subs {
			sb.Shut()
		}
	}
	return nil
}

// Subscribe implements conn.Session.
func (s *Session) Subscribe() conn.Subscription {
	q := conn.NewQueue(nil, nil)
	s.mu.Lock()
	s.subs = append(s.subs, q)
	s.mu.Unlock()
	return q
}

func (s *Session) push(st stanza.Stanza) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.subs {
		q.Push(st)
	}
}

// SendIQAsync implements conn.AsyncIQSender: the request is handed to
// the peer's handler at once (in its own goroutine, so that handlers of
// several requests run concurrently as with the real session).
func (s *Session) SendIQAsync(ctx context.Context, iq stanza.IQ) (<-chan *stanza.IQ, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	out := make(chan *stanza.IQ, 1)
	go func() {
		defer close(out)
		resp, _ := s.SendIQ(ctx, iq)
		if resp != nil {
			out <- resp
		}
	}()
	return out, nil
}
