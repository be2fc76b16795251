package conn

import (
	"context"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// AsyncIQSender is implemented by sessions that can write an IQ request
// and return before its response arrives, so that a caller can keep
// several requests in flight in a fixed order (XEP-0047 in-band
// bytestreams). Callers check for it with a type assertion and fall back
// to SendIQ.
type AsyncIQSender interface {
	// SendIQAsync writes iq (get or set) before returning; its response
	// arrives on the channel, which is closed without a value when ctx
	// ends or the session closes first. A response of type error carries
	// its *stanza.Error in IQ.Error.
	SendIQAsync(ctx context.Context, iq stanza.IQ) (<-chan *stanza.IQ, error)
}

var _ AsyncIQSender = (*session)(nil)

// SendIQAsync implements AsyncIQSender.
func (s *session) SendIQAsync(ctx context.Context, iq stanza.IQ) (<-chan *stanza.IQ, error) {
	if iq.ID == "" {
		iq.ID = NewID()
	}
	in := make(chan *stanza.IQ, 1)
	s.mu.Lock()
	s.pending[iq.ID] = in
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.pending, iq.ID)
		s.mu.Unlock()
	}
	if err := s.Send(ctx, iq); err != nil {
		forget()
		return nil, err
	}
	out := make(chan *stanza.IQ, 1)
	go func() {
		defer close(out)
		defer forget()
		for {
			select {
			case resp := <-in:
				if !s.fromMatches(iq.To, resp.From) {
					continue // RFC 6120 §8.1.2.1: not a response to us
				}
				out <- resp
				return
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
	}()
	return out, nil
}
