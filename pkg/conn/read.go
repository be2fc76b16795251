package conn

import (
	"bytes"
	"encoding/xml"
	"errors"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/forward"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// After login the receive loop reads the stream itself, from go-xmpp's
// own decoder, and decodes each stanza once, straight into the stanza
// types. go-xmpp's Recv decoded every stanza into its own types, encoded
// the unknown elements of a message again to hand them out as strings as
// well, and left convert.go to rebuild what it had dropped: for an archive
// sync that was a third of the client's CPU and two thirds of what it
// allocated (issue 16). It also lost data (a message's "to", delay stamps
// with fractions of a second, presence status codes, disco languages).
//
// What Recv did besides decoding is done here too: pings are answered
// before any handler (answerPing), a
// message carrying a pubsub event is dropped as before (go-xmpp turned it
// into types convert.go ignores), XEP-0198 nonzas go to handleNonza, a
// stream error or the server's closing tag ends the session. Software
// version queries, which Recv answered itself too, now reach the IQ
// handlers (pkg/online answers them; without a handler, service-unavailable).
//
// The decoder is go-xmpp's unexported p field, read after login only:
// go-xmpp reads it itself during login and in Close, which the session
// calls once this loop has ended. If a go-xmpp release renames it,
// decoderOf finds nothing and the loop goes through Recv as before
// (TestContractDecoder fences this).

// directReader returns the decoder the receive loop reads itself, or nil
// to go through Recv.
func directReader(c *xmpp.Client, o Options) *xml.Decoder {
	if o.viaRecv {
		return nil
	}
	return decoderOf(c)
}

// decoderOf returns the decoder c reads its stream with (its unexported p
// field), or nil when that field is not there.
func decoderOf(c *xmpp.Client) *xml.Decoder {
	d, _ := clientField[*xml.Decoder](c, "p")
	return d
}

const nsPubsubEvent = "http://jabber.org/protocol/pubsub#event"

// errServerClosed is how the stream ends when the server closes it.
var errServerClosed = errors.New("server closed stream")

// readLoop is recvLoop reading dec itself.
func (s *session) readLoop(dec *xml.Decoder) {
	s.serve(func() (stanza.Stanza, error) { return s.readStanza(dec) })
}

// serve hands out what next reads until it fails; next returns nil after
// anything that is not a stanza (handled where it was read).
func (s *session) serve(next func() (stanza.Stanza, error)) {
	for {
		st, err := next()
		if err != nil {
			s.fail(err)
			return
		}
		if st == nil {
			continue
		}
		if s.answerPing(st) || s.dropped(st) {
			continue
		}
		s.dispatch(st)
	}
}

// readFramed is recvLoop reading the stream taken from go-xmpp's decoder
// (handoff.go), an element at a time.
func (s *session) readFramed(st *stream) {
	s.serve(func() (stanza.Stanza, error) {
		el, err := st.frames.next()
		if err != nil {
			return nil, err
		}
		return s.decodeFramed(st, el)
	})
}

// decodeFramed decodes one top-level element: a plain message (every
// archive result) with the fast parser, anything else, and what the fast
// parser leaves, with encoding/xml behind the stream's header, as if it
// were read from the stream. Nothing returned aliases el.
func (s *session) decodeFramed(st *stream, el []byte) (stanza.Stanza, error) {
	if bytes.HasPrefix(el, []byte("<message")) {
		b := bytes.Clone(el) // the extensions' content aliases it
		if m, ok := forward.TopMessage(b, st.defaultNS); ok {
			m.To = s.jid // as decodeTop: what is received is ours
			m.Error = orUndefined(m.Type == stanza.ErrorMessage, m.Error, stanza.Cancel)
			return m, nil
		}
	}
	st.el.b = el
	defer func() { st.el.b = nil }()
	for {
		tok, err := st.dec.Token()
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return s.decodeTop(st.dec, start)
		}
	}
}

// readStanza returns the next stanza of the stream, or nil after anything
// else at the top level (a nonza, handled here).
func (s *session) readStanza(dec *xml.Decoder) (stanza.Stanza, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if t.Name.Space == nsStream && t.Name.Local == "stream" {
				return nil, errServerClosed
			}
		case xml.StartElement:
			return s.decodeTop(dec, t)
		}
	}
}

// decodeTop decodes the top-level element that starts with start.
func (s *session) decodeTop(dec *xml.Decoder, start xml.StartElement) (stanza.Stanza, error) {
	if start.Name.Space == stanza.NSClient {
		switch start.Name.Local {
		case "message":
			m, err := decode[stanza.Message](dec, &start)
			if err != nil {
				return nil, err
			}
			// go-xmpp dropped a message's "to"; what is received is ours.
			m.To = s.jid
			m.Error = orUndefined(m.Type == stanza.ErrorMessage, m.Error, stanza.Cancel)
			return m, nil
		case "presence":
			p, err := decode[stanza.Presence](dec, &start)
			if err != nil {
				return nil, err
			}
			p.Error = orUndefined(p.Type == stanza.ErrorPresence, p.Error, "")
			return p, nil
		case "iq":
			iq, err := decode[stanza.IQ](dec, &start)
			if err != nil {
				return nil, err
			}
			iq.Error = orUndefined(iq.Type == stanza.ErrorIQ, iq.Error, "")
			return iq, nil
		}
	}
	if start.Name.Space == nsStream && start.Name.Local == "error" {
		return nil, streamError(dec, start, &s.tap.sm)
	}
	if err := dec.Skip(); err != nil {
		return nil, err
	}
	s.handleNonza(start.Name.Space + " <" + start.Name.Local + "/>")
	return nil, nil
}

// streamError reads a <stream:error/> into the error that ends the
// session, and its condition into m (fail takes it from there) unless
// the tap's scan found it first.
func streamError(dec *xml.Decoder, start xml.StartElement, m *smCounters) error {
	var e struct {
		Cond []struct {
			XMLName xml.Name
		} `xml:",any"`
		Text string `xml:"urn:ietf:params:xml:ns:xmpp-streams text"`
	}
	if err := dec.DecodeElement(&e, &start); err != nil {
		return err
	}
	what := e.Text
	for _, c := range e.Cond {
		if c.XMLName.Local != "text" {
			m.onRecvChild("stream:error", c.XMLName.Local)
			if what == "" {
				what = c.XMLName.Local
			}
		}
	}
	return errors.New("stream error: " + what)
}

func decode[T any](dec *xml.Decoder, start *xml.StartElement) (*T, error) {
	v := new(T)
	return v, dec.DecodeElement(v, start)
}

// orUndefined gives an error stanza without an <error/> (or one go-xmpp
// could not read) undefined-condition, as convert.go did.
func orUndefined(isError bool, e *stanza.Error, typ stanza.ErrorType) *stanza.Error {
	if isError && e == nil {
		return &stanza.Error{Type: typ, Condition: stanza.UndefinedCondition}
	}
	return e
}

// answerPing answers an XEP-0199 ping before any handler, as go-xmpp's
// Recv did: every session, whatever its command, stays provably alive.
func (s *session) answerPing(st stanza.Stanza) bool {
	iq, ok := st.(*stanza.IQ)
	if !ok || iq.Type != stanza.GetIQ || !iq.Query.Is(stanza.NSPing, "ping") {
		return false
	}
	go func() { _ = s.Send(s.ctx, iq.Result(nil)) }()
	return true
}

// dropped reports a stanza the session does not hand out: one over
// MaxStanza (bound.go), or a message carrying a pubsub event, which
// go-xmpp turned into types nothing here asked for.
func (s *session) dropped(st stanza.Stanza) bool {
	if m, ok := st.(*stanza.Message); ok {
		if _, ok := stanza.Find(m.Ext, nsPubsubEvent, "event"); ok {
			return true
		}
	}
	big := stanzaSize(st) > releaseOver
	if s.oversizeStanza(st) {
		if big {
			release()
		}
		return true
	}
	if big {
		release()
	}
	return false
}
