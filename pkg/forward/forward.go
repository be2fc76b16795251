package forward

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS is the XEP-0297 namespace.
const NS = stanza.NSForward

// Forwarded is a decoded <forwarded/>: the original message and, when the
// forwarder gave one, the time it was originally sent (zero otherwise).
type Forwarded struct {
	Stamp   time.Time
	Message *stanza.Message
}

// XML is the wire form of <forwarded/>, for embedding in the types of
// enclosing elements (carbons, archive results) so that a stanza is
// decoded in one pass; Parse turns it into a Forwarded. The inner message
// is matched by local name only: servers write it in jabber:client, but a
// forwarded stanza in another content namespace is still a message.
type XML struct {
	XMLName xml.Name `xml:"urn:xmpp:forward:0 forwarded"`
	Delay   *delay   `xml:"urn:xmpp:delay delay"`
	Message *message `xml:"message"`
}

type delay struct {
	Stamp string `xml:"stamp,attr"`
}

// message mirrors stanza.Message without a fixed namespace.
type message struct {
	ID      string             `xml:"id,attr"`
	From    string             `xml:"from,attr"`
	To      string             `xml:"to,attr"`
	Type    stanza.MessageType `xml:"type,attr"`
	Lang    string             `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Subject []text             `xml:"subject"`
	Body    []text             `xml:"body"`
	Thread  string             `xml:"thread"`
	Ext     []stanza.Element   `xml:",any"`
}

type text struct {
	Lang  string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Value string `xml:",chardata"`
}

// ErrNoMessage reports a <forwarded/> without a message inside.
var ErrNoMessage = errors.New("forwarded element carries no message")

// Parse decodes a <forwarded xmlns='urn:xmpp:forward:0'/> element.
func Parse(el stanza.Element) (*Forwarded, error) {
	if !el.Is(NS, "forwarded") {
		return nil, fmt.Errorf("not a forwarded element: <%s xmlns=%q>", el.XMLName.Local, el.XMLName.Space)
	}
	var w XML
	if err := el.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode forwarded: %w", err)
	}
	return w.Parse()
}

// Find decodes the <forwarded/> child among raw inner XML bytes, as found
// inside a carbon or an archive result.
func Find(inner []byte) (*Forwarded, error) {
	if w, ok := fastXML(inner); ok {
		return w.Parse()
	}
	w, err := decodeXML(inner)
	if err != nil {
		return nil, err
	}
	return w.Parse()
}

// decodeXML decodes the <forwarded/> child among inner with encoding/xml:
// every input that fastXML does not take, and the reference it is tested
// against.
func decodeXML(inner []byte) (*XML, error) {
	var holder struct {
		Forwarded *XML `xml:"urn:xmpp:forward:0 forwarded"`
	}
	b := make([]byte, 0, len(inner)+7)
	b = append(append(append(b, "<x>"...), inner...), "</x>"...)
	if err := xml.NewDecoder(bytes.NewReader(b)).Decode(&holder); err != nil {
		return nil, fmt.Errorf("decode forwarded: %w", err)
	}
	if holder.Forwarded == nil {
		return nil, errors.New("no forwarded element")
	}
	return holder.Forwarded, nil
}

// Parse validates the decoded element and builds the Forwarded.
func (w *XML) Parse() (*Forwarded, error) {
	if w.Message == nil {
		return nil, ErrNoMessage
	}
	f := &Forwarded{}
	if w.Delay != nil {
		t, err := ParseStamp(w.Delay.Stamp)
		if err != nil {
			return nil, fmt.Errorf("forwarded delay: %w", err)
		}
		f.Stamp = t
	}
	m := w.Message
	out := &stanza.Message{ID: m.ID, From: m.From, To: m.To, Type: m.Type, Lang: m.Lang,
		Subject: pick(m.Subject, m.Lang), Body: pick(m.Body, m.Lang), Thread: m.Thread}
	for _, x := range m.Ext {
		if x.XMLName.Local == "error" {
			var e stanza.Error
			if x.Decode(&e) == nil {
				out.Error = &e
			}
			continue
		}
		out.Ext = append(out.Ext, x)
	}
	f.Message = out
	return f, nil
}

// pick returns the text without xml:lang or in the message's language,
// else the first one (RFC 6121 §5.2.3 allows one per language).
func pick(ts []text, lang string) string {
	for _, t := range ts {
		if t.Lang == "" || t.Lang == lang {
			return t.Value
		}
	}
	if len(ts) > 0 {
		return ts[0].Value
	}
	return ""
}

// ParseStamp parses an XEP-0082 DateTime as used by XEP-0203 (with or
// without fractional seconds, any zone offset).
func ParseStamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid timestamp %q", s)
	}
	return t.UTC(), nil
}

// Stamp returns the <delay/> stamp among a message's extensions, if any.
func Stamp(m *stanza.Message) (time.Time, bool) {
	el, ok := stanza.Find(m.Ext, stanza.NSDelay, "delay")
	if !ok {
		return time.Time{}, false
	}
	t, err := ParseStamp(el.Attr("stamp"))
	return t, err == nil
}
