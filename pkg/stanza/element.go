package stanza

import (
	"bytes"
	"encoding/xml"
)

// Element is an XML element kept as its raw inner bytes: the payloads of
// incoming stanzas that the receiver decodes into its own types, and
// pre-built payloads of outgoing ones.
type Element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// Attr returns the value of the attribute with the given local name.
func (e Element) Attr(local string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == local && a.Name.Space != "xmlns" {
			return a.Value
		}
	}
	return ""
}

// Is reports whether the element has the given namespace and local name.
func (e Element) Is(space, local string) bool {
	return e.XMLName.Space == space && e.XMLName.Local == local
}

// Decode unmarshals the whole element (start tag, attributes and content)
// into v.
func (e Element) Decode(v any) error {
	b, err := xml.Marshal(e)
	if err != nil {
		return err
	}
	return xml.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// MarshalXML writes the element with its namespace, attributes and raw
// inner bytes. Namespace declarations kept among the attributes are
// dropped: encoding/xml writes the element's own xmlns itself.
func (e Element) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start.Name = e.XMLName
	start.Attr = start.Attr[:0]
	for _, a := range e.Attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		start.Attr = append(start.Attr, a)
	}
	type raw struct {
		Inner []byte `xml:",innerxml"`
	}
	return enc.EncodeElement(raw{e.Inner}, start)
}

// Find returns the first element with the given namespace and local name.
func Find(els []Element, space, local string) (Element, bool) {
	for _, e := range els {
		if e.Is(space, local) {
			return e, true
		}
	}
	return Element{}, false
}
