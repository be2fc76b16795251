package forward

import (
	"bytes"
	"encoding/xml"
	"sync"
	"unicode/utf8"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// fastXML decodes the common shape of a <forwarded/> element's bytes, as
// servers write it in every archive result and carbon:
//
//	<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='…'/>
//	<message xmlns='jabber:client' …><body>…</body><origin-id …/>…</message></forwarded>
//
// in one pass over the bytes, into the same XML value encoding/xml would
// give. It is an optimisation, never a second opinion: anything outside
// the plain subset it knows (namespace prefixes, CDATA, comments,
// processing instructions, character references, carriage returns, text
// between elements, repeated or unexpected children, invalid characters)
// makes it return ok=false, and the caller decodes with encoding/xml,
// which then also produces the errors. A differential fuzz test holds it
// to encoding/xml's result for every input it accepts.
//
// Archive sync decodes one of these per archived message; encoding/xml
// costs ~10x more here (token copies, reflection, namespace maps).
func fastXML(b []byte) (*XML, bool) {
	if !validChars(b) {
		return nil, false
	}
	p := parser{b: b}
	p.borrow()
	defer p.release()
	name, attrs, empty, ok := p.startTag()
	if !ok || empty || name != "forwarded" || !onlyXMLNS(attrs, NS) {
		return nil, false
	}
	w := &XML{XMLName: xml.Name{Space: NS, Local: "forwarded"}}
	for {
		if p.endTag("forwarded") {
			return w, p.i == len(p.b)
		}
		name, attrs, empty, ok := p.startTag()
		if !ok {
			return nil, false
		}
		switch {
		case name == "delay" && w.Delay == nil && w.Message == nil && empty && xmlnsOf(attrs, NS) == stanza.NSDelay:
			w.Delay = &delay{}
			for _, a := range attrs {
				if a.Name.Space == "" && a.Name.Local == "stamp" {
					w.Delay.Stamp = a.Value
				}
			}
		case name == "message" && w.Message == nil:
			m := &message{}
			if !p.message(m, attrs, empty, NS) {
				return nil, false
			}
			w.Message = m
		default:
			return nil, false
		}
	}
}

// message decodes into m the content of a <message/> whose start tag was
// read; inherited is the default namespace around it.
func (p *parser) message(m *message, attrs []xml.Attr, empty bool, inherited string) bool {
	for _, a := range attrs {
		switch {
		case a.Name.Space == xmlURL && a.Name.Local == "lang":
			m.Lang = a.Value
		case a.Name.Space != "":
		case a.Name.Local == "id":
			m.ID = a.Value
		case a.Name.Local == "from":
			m.From = a.Value
		case a.Name.Local == "to":
			m.To = a.Value
		case a.Name.Local == "type":
			m.Type = stanza.MessageType(a.Value)
		}
	}
	if empty {
		return true
	}
	ns := xmlnsOf(attrs, inherited) // the default namespace of the children
	for {
		p.skipSpace()
		if p.endTag("message") {
			return true
		}
		name, attrs, empty, ok := p.startTag()
		if !ok {
			return false
		}
		switch name {
		case "body", "subject", "thread":
			t := text{}
			for _, a := range attrs {
				if a.Name.Space == xmlURL && a.Name.Local == "lang" {
					t.Lang = a.Value
				}
			}
			if !empty {
				if t.Value, ok = p.text(name); !ok {
					return false
				}
			}
			switch name {
			case "body":
				m.Body = append(m.Body, t)
			case "subject":
				m.Subject = append(m.Subject, t)
			default:
				m.Thread = t.Value
			}
		default:
			el := stanza.Element{XMLName: xml.Name{Space: xmlnsOf(attrs, ns), Local: name}, Attrs: keep(attrs)}
			if !empty {
				inner := p.i
				if !p.content(name, 0) {
					return false
				}
				el.Inner = p.b[inner : p.i-len(name)-3]
			}
			m.Ext = append(m.Ext, el)
		}
	}
}

const xmlURL = "http://www.w3.org/XML/1998/namespace"

type parser struct {
	b []byte
	i int
	// attrs holds the attributes of the last start tag read, until the
	// next: a caller that keeps them copies them (keep). Parsing a page
	// allocated a fresh slice, grown attribute by attribute, per tag.
	attrs []xml.Attr
	// skipping is set while content is only checked, not kept (content):
	// attribute values and text are validated without being decoded.
	skipping bool
	pooled   *[]xml.Attr // where attrs came from (borrow)
}

// attrScratch keeps the parsers' attribute buffers between parses. A
// buffer cannot live on the parse's stack (startTag appends to it through
// the parser's pointer, which the compiler takes for an escape), and a new
// one per parse was 3.8 MB of a 10,000-message sync's 52 MB of garbage,
// twice over (TopMessage and fastXML; issue 16).
var attrScratch = sync.Pool{New: func() any { s := make([]xml.Attr, 0, 8); return &s }}

// borrow gives p a buffer for attributes; release returns it, emptied, once
// nothing refers to p.attrs any more (what is kept was copied by keep).
func (p *parser) borrow() {
	p.pooled = attrScratch.Get().(*[]xml.Attr)
	p.attrs = (*p.pooled)[:0]
}

func (p *parser) release() {
	if cap(p.attrs) > maxPooledAttrs {
		return // a hostile tag's thousands of attributes are not kept
	}
	clear(p.attrs[:cap(p.attrs)])
	*p.pooled = p.attrs[:0]
	attrScratch.Put(p.pooled)
}

// maxPooledAttrs bounds the buffers kept between parses: a start tag of an
// archive result has a handful of attributes.
const maxPooledAttrs = 32

func (p *parser) skipSpace() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n') {
		p.i++
	}
}

// name reads an ASCII name without a prefix.
func (p *parser) name() (string, bool) {
	s := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || p.i > s && (c >= '0' && c <= '9' || c == '-' || c == '.') {
			p.i++
			continue
		}
		break
	}
	return Intern(p.b[s:p.i]), p.i > s
}

// startTag reads <name attr='v' …> or <name …/>.
func (p *parser) startTag() (name string, attrs []xml.Attr, empty, ok bool) {
	if p.i >= len(p.b) || p.b[p.i] != '<' {
		return "", nil, false, false
	}
	p.i++
	if name, ok = p.name(); !ok {
		return "", nil, false, false
	}
	p.attrs = p.attrs[:0]
	for {
		attrs = p.attrs
		sp := p.i
		p.skipSpace()
		if p.i >= len(p.b) {
			return "", nil, false, false
		}
		switch p.b[p.i] {
		case '>':
			p.i++
			return name, attrs, false, true
		case '/':
			if p.i+1 < len(p.b) && p.b[p.i+1] == '>' {
				p.i += 2
				return name, attrs, true, true
			}
			return "", nil, false, false
		}
		if p.i == sp {
			return "", nil, false, false // attributes are separated by space
		}
		a, ok := p.attr()
		if !ok {
			return "", nil, false, false
		}
		p.attrs = append(p.attrs, a)
	}
}

// keep copies attributes from p.attrs for a caller that keeps them; none
// is nil, as encoding/xml gives.
func keep(attrs []xml.Attr) []xml.Attr {
	if len(attrs) == 0 {
		return nil
	}
	return append([]xml.Attr(nil), attrs...)
}

// attr reads name='value' (or "value"); the only prefix it takes is
// xml:lang's.
func (p *parser) attr() (xml.Attr, bool) {
	local, ok := p.name()
	if !ok {
		return xml.Attr{}, false
	}
	var n xml.Name
	switch {
	case local == "xml" && bytes.HasPrefix(p.b[p.i:], []byte(":lang=")):
		p.i += len(":lang")
		n = xml.Name{Space: xmlURL, Local: "lang"}
	default:
		n = xml.Name{Local: local}
	}
	if p.i+1 >= len(p.b) || p.b[p.i] != '=' || (p.b[p.i+1] != '\'' && p.b[p.i+1] != '"') {
		return xml.Attr{}, false
	}
	q := p.b[p.i+1]
	p.i += 2
	end := bytes.IndexByte(p.b[p.i:], q)
	if end < 0 {
		return xml.Attr{}, false
	}
	raw := p.b[p.i : p.i+end]
	p.i += end + 1
	if bytes.IndexByte(raw, '<') >= 0 || bytes.IndexByte(raw, '\t') >= 0 || bytes.IndexByte(raw, '\n') >= 0 {
		return xml.Attr{}, false
	}
	if p.skipping {
		return xml.Attr{Name: n}, validText(raw)
	}
	v, ok := unescape(raw)
	return xml.Attr{Name: n, Value: v}, ok
}

// endTag consumes </name> if it is next.
func (p *parser) endTag(name string) bool {
	rest := p.b[p.i:]
	if len(rest) < len(name)+3 || rest[0] != '<' || rest[1] != '/' || string(rest[2:2+len(name)]) != name || rest[2+len(name)] != '>' {
		return false
	}
	p.i += len(name) + 3
	return true
}

// text reads character data up to </name>.
func (p *parser) text(name string) (string, bool) {
	end := bytes.IndexByte(p.b[p.i:], '<')
	if end < 0 {
		return "", false
	}
	raw := p.b[p.i : p.i+end]
	p.i += end
	if !p.endTag(name) {
		return "", false
	}
	return unescape(raw)
}

// content skips well-formed content up to and including </name>. Deep
// nesting is left to encoding/xml.
func (p *parser) content(name string, depth int) bool {
	if depth > 16 {
		return false
	}
	if depth == 0 {
		p.skipping = true
		defer func() { p.skipping = false }()
	}
	for {
		end := bytes.IndexByte(p.b[p.i:], '<')
		if end < 0 {
			return false
		}
		if !validText(p.b[p.i : p.i+end]) {
			return false
		}
		p.i += end
		if p.endTag(name) {
			return true
		}
		child, _, empty, ok := p.startTag()
		if !ok {
			return false
		}
		if !empty && !p.content(child, depth+1) {
			return false
		}
	}
}

// unescape decodes the five predefined entities; any other reference, a
// stray '&' and "]]>" (which encoding/xml refuses outside CDATA) are left
// to encoding/xml.
func unescape(raw []byte) (string, bool) {
	if bytes.Contains(raw, cdataEnd) {
		return "", false
	}
	amp := bytes.IndexByte(raw, '&')
	if amp < 0 {
		return string(raw), true
	}
	out := make([]byte, 0, len(raw))
	for amp >= 0 {
		out = append(out, raw[:amp]...)
		raw = raw[amp:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 {
			return "", false
		}
		switch string(raw[1:semi]) {
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "amp":
			out = append(out, '&')
		case "apos":
			out = append(out, '\'')
		case "quot":
			out = append(out, '"')
		default:
			return "", false
		}
		raw = raw[semi+1:]
		amp = bytes.IndexByte(raw, '&')
	}
	return string(append(out, raw...)), true
}

var cdataEnd = []byte("]]>")

// validText reports whether unescape takes raw, without decoding it.
func validText(raw []byte) bool {
	if bytes.Contains(raw, cdataEnd) {
		return false
	}
	for {
		amp := bytes.IndexByte(raw, '&')
		if amp < 0 {
			return true
		}
		raw = raw[amp:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 {
			return false
		}
		switch string(raw[1:semi]) {
		case "lt", "gt", "amp", "apos", "quot":
		default:
			return false
		}
		raw = raw[semi+1:]
	}
}

// validChars reports whether b is UTF-8 made of characters XML allows,
// without carriage returns (which encoding/xml rewrites).
func validChars(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || r > 0xD7FF && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// xmlnsOf returns the element's default namespace: its xmlns attribute,
// else the inherited one.
func xmlnsOf(attrs []xml.Attr, inherited string) string {
	ns := inherited
	for _, a := range attrs {
		if a.Name.Space == "" && a.Name.Local == "xmlns" {
			ns = a.Value
		}
	}
	return ns
}

// onlyXMLNS reports whether attrs is exactly xmlns='ns'.
func onlyXMLNS(attrs []xml.Attr, ns string) bool {
	return len(attrs) == 1 && attrs[0].Name.Space == "" && attrs[0].Name.Local == "xmlns" && attrs[0].Value == ns
}
