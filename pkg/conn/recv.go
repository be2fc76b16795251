package conn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/internal/stack"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// recvLoop is the only reader of the stream.
func (s *session) recvLoop() {
	stack.Reserve16K() // XML decoding
	defer s.finish()
	if s.stream != nil {
		s.readFramed(s.stream)
		return
	}
	if s.dec != nil {
		s.readLoop(s.dec)
		return
	}
	for {
		v, err := s.c.Recv()
		if err != nil {
			if el, ok := unknownElement(err); ok {
				s.handleNonza(el)
				continue
			}
			if lostStanza(v, err) {
				continue
			}
			s.fail(err)
			return
		}
		big := rawSize(v) > releaseOver
		if s.oversize(v) {
			if big {
				v = nil
				release()
			}
			continue
		}
		if big {
			release()
		}
		st := convert(v, s.jid)
		if st == nil {
			continue
		}
		if p, ok := st.(*stanza.Presence); ok && p.Type == stanza.ErrorPresence {
			if e := s.tap.presenceError(p.From, p.ID); e != nil {
				p.Error = e
			}
		}
		s.dispatch(st)
	}
}

// unknownElement recognises go-xmpp's error for top-level elements it does
// not know ("unexpected XMPP message <ns> <local/>"). It has consumed the
// start tag; the stream is intact. XEP-0198 nonzas arrive this way.
func unknownElement(err error) (string, bool) {
	rest, ok := strings.CutPrefix(err.Error(), "unexpected XMPP message ")
	if !ok {
		return "", false
	}
	return rest, true
}

func (s *session) handleNonza(el string) {
	switch el {
	case stanza.NSSM + " <a/>":
		s.ackArrived() // its h was read by the tap (smscan.go)
	case stanza.NSSM + " <r/>":
		// h counts the stanzas that came before this <r/>: Recv has
		// returned them all, so they are processed (smscan.go).
		_ = s.writeRaw(fmt.Sprintf("<a xmlns='urn:xmpp:sm:3' h='%d'/>", s.tap.sm.answerR()))
	case stanza.NSSM + " <enabled/>":
		s.sm.Store(true)
		s.closeEnabled()
	case stanza.NSSM + " <failed/>":
		s.closeEnabled()
	}
}

func (s *session) closeEnabled() {
	select {
	case <-s.enabled:
	default:
		close(s.enabled)
	}
}

func (s *session) fail(err error) {
	if s.closing.Load() {
		return // the end we asked for
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "stream error"):
		s.err = &ConnectError{Addr: s.target.Addr, Lost: true, Condition: s.tap.sm.streamError(), Err: errors.New(msg)}
	default:
		s.err = &ConnectError{Addr: s.target.Addr, Lost: true, Err: err}
	}
}

// finish runs when the stream has ended, for whatever reason.
func (s *session) finish() {
	s.tap.stopWatch()
	s.wmu.Lock()
	s.closed = true
	s.wmu.Unlock()
	s.mu.Lock()
	for sub := range s.subs {
		sub.Shut()
	}
	s.subs = map[*Queue]struct{}{}
	s.mu.Unlock()
	s.cancel()
	close(s.done)
}

func (s *session) dispatch(st stanza.Stanza) {
	switch v := st.(type) {
	case *stanza.IQ:
		if v.Type == stanza.ResultIQ || v.Type == stanza.ErrorIQ {
			s.mu.Lock()
			ch := s.pending[v.ID]
			s.mu.Unlock()
			if ch != nil {
				select {
				case ch <- v:
				default:
				}
			}
			return
		}
		s.mu.Lock()
		h := s.handlers[v.Query.XMLName]
		s.mu.Unlock()
		go s.answer(v, h)
	default:
		if s.unavailable && isOfflineMessage(st) {
			s.offline.Add(1)
		}
		s.mu.Lock()
		if !s.subscribed {
			// Nobody has subscribed yet (e.g. offline messages flushed right
			// after login): keep them for the first subscriber.
			if len(s.early) < maxEarly {
				s.early = append(s.early, st)
			}
		}
		for sub := range s.subs {
			sub.Push(st)
		}
		s.mu.Unlock()
	}
}

// isOfflineMessage reports a message the server kept while the account
// was offline: one with a body, of a type offline storage keeps, and the
// delay stamp the server adds. Live messages carry no delay; room history
// is groupchat.
func isOfflineMessage(st stanza.Stanza) bool {
	m, ok := st.(*stanza.Message)
	if !ok || m.Body == "" {
		return false
	}
	switch m.Type {
	case "", stanza.NormalMessage, stanza.ChatMessage:
	default:
		return false
	}
	_, delayed := stanza.Find(m.Ext, stanza.NSDelay, "delay")
	return delayed
}

// maxEarly bounds the backlog kept for a first subscriber that never comes
// (send-only commands subscribe late or not at all).
const maxEarly = 10000

// answer runs an IQ handler; without one the request gets
// service-unavailable, never silence (RFC 6120 §8.4).
func (s *session) answer(iq *stanza.IQ, h IQHandler) {
	if h == nil {
		_ = s.Send(s.ctx, iq.ErrorReply(stanza.Cancel, stanza.ServiceUnavailable))
		return
	}
	payload, err := h(s.ctx, iq)
	if err != nil {
		var se *stanza.Error
		if !errors.As(err, &se) {
			se = &stanza.Error{Type: stanza.Cancel, Condition: stanza.InternalServerError}
		}
		_ = s.Send(s.ctx, stanza.IQ{ID: iq.ID, To: iq.From, Type: stanza.ErrorIQ, Error: se})
		return
	}
	_ = s.Send(s.ctx, iq.Result(payload))
}
