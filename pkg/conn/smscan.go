package conn

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/forward"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Why the stream is scanned a second time for XEP-0198: go-xmpp reports
// the stream-management nonzas (<enabled/>, <a/>, <r/>) as "unexpected"
// errors without their attributes, so the h of an <a/> is lost, and it
// answers pings and version queries itself, so counting what our own code
// writes misses stanzas the server does count. The debug tap sees every
// byte both ways; streamScan follows the element depth of one direction
// and reports the start tags of top-level elements (children of
// <stream:stream>), which is all XEP-0198 counts. A stanza's text and
// attribute values cannot contain a raw '<' (servers and encoding/xml
// escape it), so every '<' starts a tag; quotes are tracked inside tags so
// that a '>' in an attribute value does not end one. Nested elements (an
// <a/> inside a message body's XHTML, a peer's fake <r/>) are never top
// level and cannot move the counters.

// maxTag bounds what is kept of one start tag: enough for the name and the
// attributes of the nonzas we read; longer tags are followed, not kept.
const maxTag = 512

type streamScan struct {
	depth int
	inTag bool
	quote quoteState
	tag   []byte
	onTop func(name string, tag []byte) // a start tag at depth 1
	top   string                        // the open top-level element
	// onChild, when set, gets the start tags of a top-level element's
	// children (the condition of a <stream:error>).
	onChild func(top, name string)
}

func (s *streamScan) feed(p []byte) {
	for len(p) > 0 {
		if !s.inTag {
			i := bytes.IndexByte(p, '<')
			if i < 0 {
				return
			}
			s.inTag, s.quote, s.tag = true, 0, s.tag[:0]
			p = p[i+1:]
			continue
		}
		c := p[0]
		p = p[1:]
		if s.quote.markup(c) && c == '>' {
			s.inTag = false
			s.endTag(s.tag)
			continue
		}
		if len(s.tag) < maxTag {
			s.tag = append(s.tag, c)
		}
	}
}

// quoteState follows the quoted attribute values of a start tag, a byte
// at a time: the quote that opened the value being read, or 0.
type quoteState byte

// markup takes the next byte of a start tag and reports whether it is
// markup: neither in a quoted value nor one of its quotes.
func (q *quoteState) markup(c byte) bool {
	switch {
	case *q != 0:
		if c == byte(*q) {
			*q = 0
		}
		return false
	case c == '"' || c == '\'':
		*q = quoteState(c)
		return false
	}
	return true
}

func (s *streamScan) endTag(tag []byte) {
	if len(tag) == 0 {
		return
	}
	switch tag[0] {
	case '?', '!':
		return // XML declaration; comments and DTDs are not XMPP
	case '/':
		if s.depth > 0 {
			s.depth--
		}
		return
	}
	self := tag[len(tag)-1] == '/'
	name := tagName(tag)
	if name == "stream:stream" || name == "stream" {
		s.depth = 1 // a stream (re)start: everything before is gone
		return
	}
	switch {
	case s.depth == 1:
		s.top = name
		if s.onTop != nil {
			s.onTop(name, tag)
		}
	case s.depth == 2 && s.onChild != nil:
		s.onChild(s.top, name)
	}
	if !self {
		s.depth++
	}
}

func tagName(tag []byte) string {
	end := bytes.IndexAny(tag, " \t\r\n/")
	if end < 0 {
		end = len(tag)
	}
	return forward.Intern(tag[:end])
}

// tagAttr returns the value of a (unprefixed) attribute of a start tag.
func tagAttr(tag []byte, name string) (string, bool) {
	rest := tag
	for {
		i := bytes.Index(rest, []byte(name+"="))
		if i < 0 {
			return "", false
		}
		// The name must start the attribute (not end another one's name).
		if i == 0 || !isSpace(rest[i-1]) && rest[i-1] != '\'' && rest[i-1] != '"' {
			rest = rest[i+len(name)+1:]
			continue
		}
		v := rest[i+len(name)+1:]
		if len(v) == 0 || (v[0] != '\'' && v[0] != '"') {
			return "", false
		}
		end := bytes.IndexByte(v[1:], v[0])
		if end < 0 {
			return "", false
		}
		return string(v[1 : 1+end]), true
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSM(tag []byte) bool {
	v, ok := tagAttr(tag, "xmlns")
	return ok && v == stanza.NSSM
}

// smCounters is what the two scans learn, read by the session.
type smCounters struct {
	mu sync.Mutex
	// Outbound: stanzas written in this stream, the count when <enable/>
	// was written (XEP-0198 counts from there), the server's last h.
	out, outBase uint64
	enableSent   bool
	acked        uint64 // outBase + h, unwrapped; valid once haveAck
	haveAck      bool
	// Inbound: stanzas received, the count when <enabled/> arrived, and
	// the count at each top-level <r/> not yet answered.
	in, inBase uint64
	rq         []uint64
	// The defined condition of a <stream:error> from the server (go-xmpp
	// reports its text only).
	streamCond StreamCondition
}

func (m *smCounters) onRecvChild(top, name string) {
	if top != "stream:error" || name == "text" {
		return
	}
	m.mu.Lock()
	if m.streamCond == "" && len(name) < 64 {
		m.streamCond = StreamCondition(name)
	}
	m.mu.Unlock()
}

// streamError returns the condition of the server's stream error, if any.
func (m *smCounters) streamError() StreamCondition {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.streamCond
}

func (m *smCounters) onSend(name string, tag []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case isStanza(name):
		m.out++
	case name == "enable" && isSM(tag):
		m.outBase, m.enableSent = m.out, true
		m.acked = m.out
	}
}

func (m *smCounters) onRecv(name string, tag []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case isStanza(name):
		m.in++
	case !isSM(tag):
	case name == "enabled":
		m.inBase = m.in
	case name == "r":
		if len(m.rq) < 1024 { // a server flooding <r/> gets low answers, never high
			m.rq = append(m.rq, m.in)
		}
	case name == "a":
		v, ok := tagAttr(tag, "h")
		h, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || !m.enableSent {
			return
		}
		// h counts modulo 2^32 (XEP-0198 §5): unwrap it near the last value.
		prev := uint32(m.acked - m.outBase)
		next := m.acked + uint64(uint32(h)-prev)
		if uint32(h)-prev > 1<<31 || next > m.out {
			return // backwards or more than we sent: not believable
		}
		m.acked, m.haveAck = next, true
	}
}

func isStanza(name string) bool {
	return name == "message" || name == "presence" || name == "iq"
}

// outCount is the number of stanzas written so far.
func (m *smCounters) outCount() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out
}

// ackedCount is the number of stanzas (counted as outCount counts) the
// server has acknowledged; 0 before stream management was enabled.
func (m *smCounters) ackedCount() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.enableSent {
		return 0
	}
	return m.acked
}

// answerR returns the h for our answer to the oldest unanswered <r/>.
func (m *smCounters) answerR() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.in
	if len(m.rq) > 0 {
		n = m.rq[0]
		m.rq = m.rq[1:]
	}
	return uint32(n - m.inBase)
}
