package jingle

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/xmppctl/xmppctl/internal/registry"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Manager owns the Jingle handler of one connection.
type Manager struct {
	s   conn.Session
	ibb *ibb.Manager

	sessions  registry.Map[*Session]
	incoming  chan *Session
	accepting atomic.Bool
}

// NewManager registers the Jingle IQ handler on s. ib carries the IBB
// transport (one per connection, shared with other users of IBB).
func NewManager(s conn.Session, ib *ibb.Manager) *Manager {
	m := &Manager{s: s, ibb: ib, incoming: make(chan *Session, 16)}
	s.HandleIQ(NS, "jingle", m.handle)
	return m
}

// Incoming delivers the file offers peers send (session-initiate with a
// file-transfer description). Offers that do not fit are terminated by
// the manager itself, and so is every offer until Incoming was called
// once: a sending-only process must not leave peers waiting.
func (m *Manager) Incoming() <-chan *Session {
	m.accepting.Store(true)
	return m.incoming
}

// ErrUnknownSession answers actions for sessions we do not know.
var errUnknownSession = &stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "unknown-session"}

func (m *Manager) handle(ctx context.Context, iq *stanza.IQ) (any, error) {
	if iq.Type != stanza.SetIQ {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.BadRequest}
	}
	j, err := ParseJingle(iq.Query)
	if err != nil {
		return nil, &stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest}
	}
	if j.Action == ActSessionInitiate {
		return m.initiate(ctx, iq.From, j)
	}
	sess, _ := m.sessions.Get(iq.From, j.SID)
	if sess == nil {
		return nil, errUnknownSession
	}
	sess.push(j)
	return nil, nil
}

// initiate handles a session-initiate. The ack goes out when this returns;
// everything else happens on the session.
func (m *Manager) initiate(ctx context.Context, from string, j *Jingle) (any, error) {
	if _, dup := m.sessions.Get(from, j.SID); dup {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.BadRequest, Text: "duplicate session id"}
	}
	initiator := j.Initiator
	if initiator == "" {
		initiator = from
	}
	sess := m.newSession(from, j.SID, false)
	sess.initiatorJID = initiator
	offer, reason := parseOffer(j)
	sess.offer = offer
	if reason == nil && !m.accepting.Load() {
		reason = &Reason{Condition: ReasonDecline, Text: "not receiving files"}
	}
	if reason != nil {
		// Not something we can take: the initiate is acknowledged and the
		// session ended at once (XEP-0166 §6.3.2 allows either).
		go func() {
			ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
			defer cancel()
			_ = sess.Terminate(ctx, *reason)
		}()
		return nil, nil
	}
	select {
	case m.incoming <- sess:
	default:
		go func() {
			ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
			defer cancel()
			_ = sess.Terminate(ctx, Reason{Condition: ReasonBusy})
		}()
	}
	return nil, nil
}

func (m *Manager) newSession(peer, sid string, initiator bool) *Session {
	sess := &Session{m: m, SID: sid, Peer: peer, initiator: initiator,
		events: make(chan *Jingle, 64), ended: make(chan struct{}), notify: make(chan struct{}, 1)}
	if initiator {
		sess.initiatorJID = m.s.JID()
	}
	m.sessions.Set(peer, sid, sess)
	return sess
}

func (m *Manager) forget(sess *Session) {
	m.sessions.Remove(sess.Peer, sess.SID, sess)
}

// newID returns a random identifier for sessions, transports and candidates.
func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// TerminatedError reports that the peer ended the session.
type TerminatedError struct {
	Reason *Reason
}

func (e *TerminatedError) Error() string {
	return "peer ended the session: " + e.Reason.String()
}

// ErrDeclined is wrapped by the error of SendFile when the peer declined.
var ErrDeclined = errors.New("the peer declined the file")

// ErrHashMismatch is returned when the received data does not match the
// sender's hash.
var ErrHashMismatch = errors.New("hash mismatch: the received file is not what was sent")

// declined maps a terminate reason to ErrDeclined where it means a
// refusal, and to ErrHashMismatch where the receiver rejected the data.
func declined(err error) error {
	var te *TerminatedError
	if errors.As(err, &te) && te.Reason != nil {
		switch te.Reason.Condition {
		case ReasonDecline, ReasonBusy, ReasonUnsupportedApps, ReasonUnsupportedTransprt, ReasonSecurityError:
			return fmt.Errorf("%w: %s", ErrDeclined, te.Reason)
		case ReasonMediaError:
			if te.Reason.App != nil && te.Reason.App.XMLName.Local == "file-too-large" {
				return fmt.Errorf("%w: %s", ErrDeclined, te.Reason)
			}
			return fmt.Errorf("the receiver rejected the data (%s): %w", te.Reason, ErrHashMismatch)
		}
	}
	return err
}
