// Package xmpptest provides an in-memory conn.Session for unit tests of
// the protocol packages and commands: it records what was sent and answers
// IQs and messages with functions the test supplies. It never replaces the
// real server in integration tests.
package xmpptest

import (
	"context"
	"encoding/xml"
	"fmt"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Session is a scripted conn.Session.
type Session struct {
	Full   string // our full JID
	Server string // the account's domain

	// OnIQ answers an IQ request; nil answers an empty result.
	OnIQ func(iq stanza.IQ) (*stanza.IQ, error)
	// OnSend sees every stanza sent and may return stanzas to deliver to
	// subscribers (e.g. a bounce or a receipt).
	OnSend func(v any) []stanza.Stanza

	mu       sync.Mutex
	sent     []any
	subs     []*conn.Queue
	handlers map[xml.Name]conn.IQHandler
	flushes  int
	done     chan struct{}
	closed   bool
}

// New returns a session for user@example.org/test.
func New() *Session {
	return &Session{Full: "user@example.org/test", Server: "example.org", done: make(chan struct{}),
		handlers: map[xml.Name]conn.IQHandler{}}
}

var _ conn.Session = (*Session)(nil)

func (s *Session) JID() string           { return s.Full }
func (s *Session) Domain() string        { return s.Server }
func (s *Session) Done() <-chan struct{} { return s.done }
func (s *Session) Err() error            { return nil }

// Sent returns what was sent so far, marshalled to XML.
func (s *Session) Sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.sent))
	for i, v := range s.sent {
		b, err := xml.Marshal(v)
		if err != nil {
			out[i] = fmt.Sprintf("marshal error: %v", err)
			continue
		}
		out[i] = string(b)
	}
	return out
}

// Flushes counts Flush calls.
func (s *Session) Flushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushes
}

func (s *Session) Send(ctx context.Context, v any) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return conn.ErrClosed
	}
	s.sent = append(s.sent, v)
	on := s.OnSend
	s.mu.Unlock()
	if on != nil {
		for _, st := range on(v) {
			s.Deliver(st)
		}
	}
	return nil
}

func (s *Session) SendIQ(ctx context.Context, iq stanza.IQ) (*stanza.IQ, error) {
	if iq.ID == "" {
		iq.ID = conn.NewID()
	}
	if err := s.Send(ctx, iq); err != nil {
		return nil, err
	}
	if s.OnIQ == nil {
		return &stanza.IQ{ID: iq.ID, From: iq.To, Type: stanza.ResultIQ}, nil
	}
	resp, err := s.OnIQ(iq)
	if resp != nil && resp.ID == "" {
		resp.ID = iq.ID
	}
	return resp, err
}

func (s *Session) Flush(ctx context.Context) error {
	s.mu.Lock()
	s.flushes++
	s.mu.Unlock()
	return ctx.Err()
}

func (s *Session) HandleIQ(space, local string, h conn.IQHandler) {
	s.mu.Lock()
	s.handlers[xml.Name{Space: space, Local: local}] = h
	s.mu.Unlock()
}

// Handler returns the handler registered for an IQ child.
func (s *Session) Handler(space, local string) conn.IQHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers[xml.Name{Space: space, Local: local}]
}

func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
		for _, sb := range s.subs {
			sb.Shut()
		}
	}
	return nil
}

// Deliver hands an incoming stanza to every subscriber.
func (s *Session) Deliver(st stanza.Stanza) {
	s.mu.Lock()
	subs := append([]*conn.Queue(nil), s.subs...)
	s.mu.Unlock()
	for _, sb := range subs {
		sb.Push(st)
	}
}

func (s *Session) Subscribe() conn.Subscription {
	q := conn.NewQueue(nil, nil)
	s.mu.Lock()
	s.subs = append(s.subs, q)
	if s.closed {
		q.Shut()
	}
	s.mu.Unlock()
	return q
}
