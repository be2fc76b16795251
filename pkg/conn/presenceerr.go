package conn

import (
	"bytes"
	"encoding/xml"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// go-xmpp's Presence keeps only the local name of the LAST child of a
// presence's <error/> as its condition, so an error with the RFC 6120
// order <not-authorized/><text>…</text> (ejabberd's, e.g. a wrong room
// password) arrives as the condition "text", and its type and text are
// lost. presenceErrors rebuilds error presences from the tap's copy of the
// stream: a cheap scan for "<presence" start tags of type error, parsed
// with encoding/xml once complete. The tap writes a chunk before go-xmpp's
// decoder sees it, so the error is known by the time Recv returns the
// presence. If the scan finds nothing (a go-xmpp release that stops
// teeing the stream), go-xmpp's condition stands, or undefined-condition.
type presenceErrors struct {
	carry []byte // unfinished text that may start an error presence
	found []presenceError
}

type presenceError struct {
	from, id string
	err      stanza.Error
}

const (
	maxPresenceErrors = 32      // recent error presences kept for lookup
	maxErrPresence    = 1 << 16 // larger error presences are not parsed
)

var (
	presenceStart = []byte("<presence")
	presenceEnd   = []byte("</presence>")
)

// feed takes one received chunk (without go-xmpp's added newline).
func (p *presenceErrors) feed(chunk []byte) {
	var data []byte
	if len(p.carry) > 0 {
		data = append(p.carry, chunk...)
	} else {
		data = chunk
	}
	p.carry = nil
	for {
		i := bytes.Index(data, presenceStart)
		if i < 0 {
			// Keep what could be the start of a split "<presence".
			if j := bytes.LastIndexByte(data, '<'); j >= 0 && len(data)-j < len(presenceStart) {
				p.carry = append([]byte(nil), data[j:]...)
			}
			return
		}
		data = data[i:]
		gt := bytes.IndexByte(data, '>')
		if gt < 0 {
			p.keep(data)
			return
		}
		tag := data[:gt+1]
		if !bytes.Contains(tag, []byte(`type='error'`)) && !bytes.Contains(tag, []byte(`type="error"`)) ||
			bytes.HasSuffix(tag, []byte("/>")) {
			data = data[gt+1:]
			continue
		}
		end := bytes.Index(data, presenceEnd)
		if end < 0 {
			p.keep(data)
			return
		}
		end += len(presenceEnd)
		p.parse(data[:end])
		data = data[end:]
	}
}

func (p *presenceErrors) keep(data []byte) {
	if len(data) <= maxErrPresence {
		p.carry = append([]byte(nil), data...)
	}
}

func (p *presenceErrors) parse(raw []byte) {
	var v struct {
		From  string        `xml:"from,attr"`
		ID    string        `xml:"id,attr"`
		Error *stanza.Error `xml:"error"`
	}
	// The stream's prefixes are not declared inside one stanza; the
	// decoder is not strict about that, and the names used are plain.
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = false
	if d.Decode(&v) != nil || v.Error == nil || v.Error.Condition == "" {
		return
	}
	if len(p.found) == maxPresenceErrors {
		p.found = p.found[1:]
	}
	p.found = append(p.found, presenceError{v.From, v.ID, *v.Error})
}

// take returns and forgets the latest error presence from from with id.
func (p *presenceErrors) take(from, id string) *stanza.Error {
	for i := len(p.found) - 1; i >= 0; i-- {
		if f := p.found[i]; f.from == from && f.id == id {
			p.found = append(p.found[:i], p.found[i+1:]...)
			return &f.err
		}
	}
	return nil
}
