package stanza

import (
	"encoding/xml"
	"strings"
	"unicode/utf8"
)

// Stanza is any of *Message, *Presence or *IQ.
type Stanza interface{ isStanza() }

// Message is a <message/> stanza. Payload holds typed extensions for
// sending; Ext holds the extension elements of a received message.
type Message struct {
	XMLName xml.Name    `xml:"jabber:client message"`
	ID      string      `xml:"id,attr,omitempty"`
	From    string      `xml:"from,attr,omitempty"`
	To      string      `xml:"to,attr,omitempty"`
	Type    MessageType `xml:"type,attr,omitempty"`
	Lang    string      `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	Subject string      `xml:"subject,omitempty"`
	Body    string      `xml:"body,omitempty"`
	Thread  string      `xml:"thread,omitempty"`
	Error   *Error      `xml:"error,omitempty"`
	Payload []any       `xml:"-"`
	Ext     []Element   `xml:",any"`
}

// Presence is a <presence/> stanza.
type Presence struct {
	XMLName xml.Name     `xml:"jabber:client presence"`
	ID      string       `xml:"id,attr,omitempty"`
	From    string       `xml:"from,attr,omitempty"`
	To      string       `xml:"to,attr,omitempty"`
	Type    PresenceType `xml:"type,attr,omitempty"`
	Show    string       `xml:"show,omitempty"`
	Status  string       `xml:"status,omitempty"`
	Error   *Error       `xml:"error,omitempty"`
	Payload []any        `xml:"-"`
	Ext     []Element    `xml:",any"`
}

// IQ is an <iq/> stanza. Payload is the child to send; Query is the child
// of a received IQ (zero when it had none).
type IQ struct {
	XMLName xml.Name `xml:"jabber:client iq"`
	ID      string   `xml:"id,attr,omitempty"`
	From    string   `xml:"from,attr,omitempty"`
	To      string   `xml:"to,attr,omitempty"`
	Type    IQType   `xml:"type,attr"`
	Error   *Error   `xml:"error,omitempty"`
	Payload any      `xml:"-"`
	Query   Element  `xml:",any"`
}

func (*Message) isStanza()  {}
func (*Presence) isStanza() {}
func (*IQ) isStanza()       {}

func attrs(kv ...string) []xml.Attr {
	n := 0
	for i := 1; i < len(kv); i += 2 {
		if kv[i] != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	// One allocation of the right size: appending from nil took three for
	// a message's id, to and type, on every stanza sent.
	out := make([]xml.Attr, 0, n)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, xml.Attr{Name: xml.Name{Local: kv[i]}, Value: kv[i+1]})
		}
	}
	return out
}

func encodeText(enc *xml.Encoder, local, text string) error {
	if text == "" {
		return nil
	}
	return enc.EncodeElement(text, xml.StartElement{Name: xml.Name{Local: local}})
}

func encodeAll(enc *xml.Encoder, payload []any, ext []Element, e *Error) error {
	for _, p := range payload {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	for _, x := range ext {
		if err := enc.Encode(x); err != nil {
			return err
		}
	}
	if e != nil {
		return enc.Encode(e)
	}
	return nil
}

// MarshalXML writes the message with its payloads in order.
func (m Message) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Space: NSClient, Local: "message"},
		Attr: attrs("id", m.ID, "from", m.From, "to", m.To, "type", string(m.Type))}
	if m.Lang != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xml:lang"}, Value: m.Lang})
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for _, t := range [][2]string{{"subject", m.Subject}, {"body", m.Body}, {"thread", m.Thread}} {
		if err := encodeText(enc, t[0], t[1]); err != nil {
			return err
		}
	}
	if err := encodeAll(enc, m.Payload, m.Ext, m.Error); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// MarshalXML writes the presence with its payloads in order.
func (p Presence) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Space: NSClient, Local: "presence"},
		Attr: attrs("id", p.ID, "from", p.From, "to", p.To, "type", string(p.Type))}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for _, t := range [][2]string{{"show", p.Show}, {"status", p.Status}} {
		if err := encodeText(enc, t[0], t[1]); err != nil {
			return err
		}
	}
	if err := encodeAll(enc, p.Payload, p.Ext, p.Error); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// MarshalXML writes the IQ with its payload.
func (iq IQ) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Space: NSClient, Local: "iq"},
		Attr: attrs("id", iq.ID, "from", iq.From, "to", iq.To, "type", string(iq.Type))}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	var payload []any
	if iq.Payload != nil {
		payload = []any{iq.Payload}
	}
	var ext []Element
	if iq.Query.XMLName.Local != "" {
		ext = []Element{iq.Query}
	}
	if err := encodeAll(enc, payload, ext, iq.Error); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// Result returns an empty result IQ answering iq.
func (iq *IQ) Result(payload any) IQ {
	return IQ{ID: iq.ID, To: iq.From, Type: ResultIQ, Payload: payload}
}

// ErrorReply returns an error IQ answering iq with the given condition.
func (iq *IQ) ErrorReply(typ ErrorType, condition Condition) IQ {
	return IQ{ID: iq.ID, To: iq.From, Type: ErrorIQ, Error: &Error{Type: typ, Condition: condition}}
}

// Sanitize removes what XML 1.0 cannot carry from text meant for a
// stanza: invalid UTF-8 and control characters other than tab, LF and CR
// (and U+FFFE/U+FFFF), so that the server never sees an invalid stream.
func Sanitize(s string) string {
	if !needsSanitize(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == utf8.RuneError && n <= 1 {
			continue
		}
		if validXMLChar(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsSanitize(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if !validXMLChar(r) {
			return true
		}
	}
	return false
}

func validXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}
