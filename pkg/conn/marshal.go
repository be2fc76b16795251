package conn

import (
	"bytes"
	"encoding/xml"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// stanzaEncoder marshals the stanzas of one session into one reused
// buffer. xml.Marshal makes a new Encoder, with its own 4 KiB bufio.Writer,
// and a new buffer for every stanza: that was most of what a `send --lines`
// allocated per line, and the garbage collections it caused (issue 16).
// The output is exactly xml.Marshal's. Guarded by session.wmu.
type stanzaEncoder struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

// keepMax is the largest buffer kept for the next stanza: one large
// message does not pin its size for the rest of the session.
const keepMax = 64 << 10

// marshalLine marshals v followed by a newline, as go-xmpp's SendOrg
// writes a stanza, into the encoder's own buffer: valid until the next
// call (then trim), with no copy (direct.go).
func (e *stanzaEncoder) marshalLine(v any) ([]byte, error) {
	if err := e.encode(v); err != nil {
		return nil, err
	}
	e.buf.WriteByte('\n')
	return e.buf.Bytes(), nil
}

// encode leaves v's XML in buf.
func (e *stanzaEncoder) encode(v any) error {
	if e.enc == nil {
		e.buf = bytes.Buffer{}
		e.enc = xml.NewEncoder(&e.buf)
	}
	e.buf.Reset()
	// The stanza types marshal themselves: through Encode a message
	// passed by pointer was copied to reach its value-receiver method, and
	// the reflective walk to get there paged in code a one-shot send
	// otherwise never runs (issue 16).
	done, err := marshalStanza(e.enc, v)
	switch {
	case !done:
		err = e.enc.Encode(v) // flushes into buf
	case err == nil:
		err = e.enc.Flush()
	}
	if err != nil {
		// After a failed Encode the encoder's open elements are unknown:
		// start over with a fresh one.
		e.enc, e.buf = nil, bytes.Buffer{}
	}
	return err
}

// trim drops a buffer grown past keepMax once its bytes are no longer
// needed, so that a large stanza goes now rather than with the next one.
func (e *stanzaEncoder) trim() {
	if e.buf.Cap() > keepMax {
		e.enc, e.buf = nil, bytes.Buffer{}
	}
}

// marshalStanza writes v through its own MarshalXML when it is one of the
// stanza types (whose MarshalXML ignores the start element it is given)
// and reports whether it was; anything else goes through Encode and its
// defaults.
func marshalStanza(enc *xml.Encoder, v any) (bool, error) {
	var start xml.StartElement
	switch v := v.(type) {
	case *stanza.Message:
		return true, v.MarshalXML(enc, start)
	case stanza.Message:
		return true, v.MarshalXML(enc, start)
	case *stanza.Presence:
		return true, v.MarshalXML(enc, start)
	case stanza.Presence:
		return true, v.MarshalXML(enc, start)
	case *stanza.IQ:
		return true, v.MarshalXML(enc, start)
	case stanza.IQ:
		return true, v.MarshalXML(enc, start)
	}
	return false, nil
}
