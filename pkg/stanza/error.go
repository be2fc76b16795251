package stanza

import (
	"encoding/xml"
	"strings"
)

// Error is a stanza-level error (RFC 6120 §8.3) as received from a remote
// entity. Its Condition is the defined-condition element name, e.g.
// "item-not-found", kept so that users see what the server said.
type Error struct {
	Type      ErrorType // cancel, continue, modify, auth, wait
	Condition Condition // e.g. service-unavailable
	Text      string    // optional human-readable text
	By        string    // the entity that generated the error, if given
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("remote error: ")
	if e.Condition == "" {
		b.WriteString("undefined-condition")
	} else {
		b.WriteString(string(e.Condition))
	}
	if e.Text != "" {
		b.WriteString(" (")
		b.WriteString(e.Text)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is a *Error with the same condition, so that
// errors.Is(err, &stanza.Error{Condition: stanza.ItemNotFound}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Condition == e.Condition
}

// errorXML is the wire form of <error/>; unknown children are kept so the
// defined condition can be found whatever its position.
type errorXML struct {
	XMLName xml.Name `xml:"error"`
	Type    string   `xml:"type,attr,omitempty"`
	By      string   `xml:"by,attr,omitempty"`
	Any     []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:",any"`
}

// MarshalXML writes the error with its condition in the stanzas namespace.
func (e Error) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start.Name = xml.Name{Local: "error"}
	start.Attr = nil
	if e.Type != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: string(e.Type)})
	}
	if e.By != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "by"}, Value: e.By})
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	cond := e.Condition
	if cond == "" {
		cond = UndefinedCondition
	}
	c := xml.StartElement{Name: xml.Name{Space: NSStanzas, Local: string(cond)}}
	if err := enc.EncodeToken(c); err != nil {
		return err
	}
	if err := enc.EncodeToken(c.End()); err != nil {
		return err
	}
	if e.Text != "" {
		t := xml.StartElement{Name: xml.Name{Space: NSStanzas, Local: "text"}}
		if err := enc.EncodeElement(e.Text, t); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads an <error/> element.
func (e *Error) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw errorXML
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*e = Error{Type: ErrorType(raw.Type), By: raw.By}
	for _, c := range raw.Any {
		switch {
		case c.XMLName.Local == "text":
			e.Text = strings.TrimSpace(c.Text)
		case e.Condition == "" && (c.XMLName.Space == NSStanzas || c.XMLName.Space == ""):
			e.Condition = Condition(c.XMLName.Local)
		}
	}
	return nil
}
