package jingle

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

const defaultTimeout = 30 * time.Second

// Session is one Jingle session with one peer.
type Session struct {
	m            *Manager
	SID          string
	Peer         string
	initiator    bool
	initiatorJID string
	offer        *Offer

	events chan *Jingle

	mu       sync.Mutex
	checksum []hashes.Hash // from a checksum session-info
	received bool          // a received session-info arrived
	notify   chan struct{} // signalled when a checksum or received arrives
	ended    chan struct{}
	endOnce  sync.Once
	reason   *Reason // the peer's terminate reason
	sentEnd  bool
	pending  []*Jingle // actions put back by a phase that did not want them

	contentCreator, contentName, contentSenders string
}

// push queues an incoming action. Session-info and session-terminate are
// recorded at once so that any phase sees them.
func (s *Session) push(j *Jingle) {
	switch j.Action {
	case ActSessionTerminate:
		s.mu.Lock()
		s.reason = j.Reason
		if s.reason == nil {
			s.reason = &Reason{Condition: ReasonGeneralError}
		}
		s.mu.Unlock()
		s.endOnce.Do(func() { close(s.ended) })
		return
	case ActSessionInfo:
		s.info(j)
		return
	}
	select {
	case s.events <- j:
	default:
		// A peer flooding actions gets them dropped; the session then
		// times out rather than growing without bound.
	}
}

func (s *Session) info(j *Jingle) {
	for _, el := range j.Any {
		if el.XMLName.Space != NSFT && el.XMLName.Space != NSFT4 {
			continue
		}
		switch el.XMLName.Local {
		case "checksum":
			var c Checksum
			if el.Decode(&c) == nil {
				s.mu.Lock()
				s.checksum = append(s.checksum, c.File.AllHashes()...)
				s.mu.Unlock()
				s.signal()
			}
		case "received":
			s.mu.Lock()
			s.received = true
			s.mu.Unlock()
			s.signal()
		}
	}
}

// peerEnded returns the peer's terminate as an error, or nil.
func (s *Session) peerEnded() error {
	select {
	case <-s.ended:
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.reason == nil {
			return nil // we ended it
		}
		return &TerminatedError{Reason: s.reason}
	default:
		return nil
	}
}

// next waits for the next queued action.
func (s *Session) next(ctx context.Context) (*Jingle, error) {
	s.mu.Lock()
	if len(s.pending) > 0 {
		j := s.pending[0]
		s.pending = s.pending[1:]
		s.mu.Unlock()
		return j, nil
	}
	s.mu.Unlock()
	select {
	case j := <-s.events:
		return j, nil
	case <-s.ended:
		if err := s.peerEnded(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("session ended")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// send sends an action of this session and waits for the ack.
func (s *Session) send(ctx context.Context, j Jingle) error {
	j.SID = s.SID
	if j.Action == ActSessionInitiate {
		j.Initiator = s.initiatorJID
	}
	if j.Action == ActSessionAccept {
		j.Responder = s.m.s.JID()
		j.Initiator = s.initiatorJID
	}
	_, err := s.m.s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, To: s.Peer, Payload: j})
	if err != nil {
		return fmt.Errorf("jingle %s: %w", j.Action, err)
	}
	return nil
}

// Terminate ends the session with reason (once) and forgets it.
func (s *Session) Terminate(ctx context.Context, r Reason) error {
	s.mu.Lock()
	already := s.sentEnd || s.reason != nil
	s.sentEnd = true
	s.mu.Unlock()
	s.endOnce.Do(func() { close(s.ended) })
	defer s.m.forget(s)
	if already {
		return nil
	}
	return s.send(ctx, Jingle{Action: ActSessionTerminate, Reason: &r})
}

// Offer describes a file the peer offers.
type Offer struct {
	Name      string
	Size      int64 // -1 when unknown
	MediaType string
	Date      string
	Desc      string
	Hashes    []hashes.Hash // with values, from the offer
	Algos     []string      // announced algorithms
	Transport Method        // MethodS5B or MethodIBB

	ns      string // description namespace (:5 or :4)
	content Content
	s5b     *S5BTransport
	ibb     *IBBTransport
}

// Offer returns the offered file (responder sessions only).
func (s *Session) Offer() *Offer { return s.offer }

// parseOffer checks a session-initiate for a single file offer over a
// transport we know; otherwise it returns the reason to terminate with.
func parseOffer(j *Jingle) (*Offer, *Reason) {
	if len(j.Contents) != 1 {
		return nil, &Reason{Condition: ReasonUnsupportedApps, Text: "one file per session is supported"}
	}
	c := j.Contents[0]
	d, err := descriptionOf(c)
	if err != nil || d == nil || d.TheFile() == nil {
		return nil, &Reason{Condition: ReasonUnsupportedApps}
	}
	senders := c.Senders
	if senders == "" {
		senders = "both"
	}
	if senders != "initiator" && !(senders == "both" && c.Creator == "initiator") {
		return nil, &Reason{Condition: ReasonUnsupportedApps, Text: "file requests are not supported"}
	}
	r, err := transportOf(c)
	if err != nil || r.kind == "" {
		return nil, &Reason{Condition: ReasonUnsupportedTransprt}
	}
	f := d.TheFile()
	o := &Offer{Name: f.Name, Size: -1, MediaType: f.MediaType, Date: f.Date, Desc: deref(f.Desc),
		Transport: r.kind, ns: d.XMLName.Space, content: c, s5b: r.s5b, ibb: r.ibb}
	if f.Size != nil {
		if *f.Size < 0 {
			return nil, &Reason{Condition: ReasonFailedApplication, Text: "negative size"}
		}
		o.Size = *f.Size
	}
	for _, h := range f.AllHashes() {
		if h.Value != "" {
			o.Hashes = append(o.Hashes, h)
		} else {
			o.Algos = append(o.Algos, h.Algo)
		}
	}
	for _, u := range f.HashUsed {
		o.Algos = append(o.Algos, u.Algo)
	}
	return o, nil
}

// contentRef returns the session's content without payload, for actions
// that refer to it.
func (s *Session) contentRef() Content {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Content{Creator: s.contentCreator, Name: s.contentName, Senders: s.contentSenders}
}

// endedErr is the error for a session that ended while we waited.
func (s *Session) endedErr() error {
	if err := s.peerEnded(); err != nil {
		return err
	}
	return fmt.Errorf("session ended")
}

// requeue keeps an action for the next call of next.
func (s *Session) requeue(j *Jingle) {
	s.mu.Lock()
	s.pending = append(s.pending, j)
	s.mu.Unlock()
}

func (s *Session) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// takePending returns and clears the queued actions.
func (s *Session) takePending() []*Jingle {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	s.pending = nil
	return p
}
