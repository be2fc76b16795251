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

func (e *stanzaEncoder) marshal(v any) (string, error) {
	if e.enc == nil {
		e.buf = bytes.Buffer{}
		e.enc = xml.NewEncoder(&e.buf)
	}
	e.buf.Reset()
	var err error
	if m, ok := v.(*stanza.Message); ok {
		// Encode would copy the message to call its value-receiver
		// MarshalXML through reflection (a heap copy per message sent).
		if err = m.MarshalXML(e.enc, xml.StartElement{}); err == nil {
			err = e.enc.Flush()
		}
	} else {
		err = e.enc.Encode(v) // flushes into buf
	}
	out := e.buf.String()
	if err != nil || e.buf.Cap() > keepMax {
		// After a failed Encode the encoder's open elements are unknown:
		// start over with a fresh one. out is a copy, so a large buffer
		// goes now rather than with the next stanza.
		e.enc, e.buf = nil, bytes.Buffer{}
	}
	if err != nil {
		return "", err
	}
	return out, nil
}
