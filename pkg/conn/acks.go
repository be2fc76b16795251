package conn

import (
	"bytes"
	"context"
)

// Acks is implemented by sessions from Dial: which stanzas the server has
// acknowledged (XEP-0198), so that after a lost connection a caller knows
// which of its stanzas to send again. Without stream management nothing is
// known per stanza and Flush (a ping) is the only proof.
type Acks interface {
	// SendSeq writes v like Send and returns its position among the
	// stanzas written on this stream (1 for the first). A position may be
	// too high by the count of stanzas go-xmpp wrote itself meanwhile
	// (ping answers), never too low.
	SendSeq(ctx context.Context, v any) (uint64, error)
	// Acked returns how many stanzas, counted as SendSeq counts, the server
	// has acknowledged; ok is false when stream management is off. It
	// stays readable after the stream ended.
	Acked() (n uint64, ok bool)
}

type ackWaiter struct {
	upTo uint64 // stanzas written before the <r/>
	ch   chan struct{}
}

// SendSeq implements Acks.
func (s *session) SendSeq(ctx context.Context, v any) (uint64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.sendLocked(ctx, v); err != nil {
		return 0, err
	}
	return s.tap.sm.outCount(), nil
}

// Acked implements Acks.
func (s *session) Acked() (uint64, bool) {
	if !s.sm.Load() {
		return 0, false
	}
	return s.tap.sm.ackedCount(), true
}

// ackArrived releases the Flush calls the server's h now covers.
func (s *session) ackArrived() {
	acked := s.tap.sm.ackedCount()
	s.mu.Lock()
	keep := s.ackWait[:0]
	for _, w := range s.ackWait {
		if w.upTo <= acked {
			close(w.ch)
			continue
		}
		keep = append(keep, w)
	}
	s.ackWait = keep
	s.mu.Unlock()
}

// smOffered reports XEP-0198 among the stream features the server sent.
func smOffered(features [][]byte) bool {
	for _, f := range features {
		if bytes.Contains(f, []byte("urn:xmpp:sm:3")) {
			return true
		}
	}
	return false
}
