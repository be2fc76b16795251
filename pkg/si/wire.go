package si

import (
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/socks5"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Stream methods of XEP-0095 negotiation.
const (
	MethodS5B = socks5.NS
	MethodIBB = ibb.NS
)

// SI is the <si/> element of an offer or its answer.
type SI struct {
	XMLName  xml.Name `xml:"http://jabber.org/protocol/si si"`
	ID       string   `xml:"id,attr,omitempty"`
	MimeType string   `xml:"mime-type,attr,omitempty"`
	Profile  string   `xml:"profile,attr,omitempty"`
	File     *File    `xml:"http://jabber.org/protocol/si/profile/file-transfer file"`
	Feature  *Feature `xml:"http://jabber.org/protocol/feature-neg feature"`
}

// File is the XEP-0096 <file/>.
type File struct {
	XMLName xml.Name  `xml:"http://jabber.org/protocol/si/profile/file-transfer file"`
	Name    string    `xml:"name,attr"`
	Size    int64     `xml:"size,attr"`
	Date    string    `xml:"date,attr,omitempty"`
	Hash    string    `xml:"hash,attr,omitempty"` // MD5, hex
	Desc    string    `xml:"desc,omitempty"`
	Range   *struct{} `xml:"range"`
}

// Feature is the XEP-0020 <feature/> with its data form.
type Feature struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/feature-neg feature"`
	Form    Form     `xml:"jabber:x:data x"`
}

// Form is the small part of an XEP-0004 form that stream negotiation uses.
type Form struct {
	Type   string  `xml:"type,attr"`
	Fields []Field `xml:"field"`
}

// Field is a form field.
type Field struct {
	Var     string   `xml:"var,attr"`
	Type    string   `xml:"type,attr,omitempty"`
	Options []Option `xml:"option"`
	Values  []string `xml:"value"`
}

// Option is a list option.
type Option struct {
	Value string `xml:"value"`
}

// methods returns the offered (form) or chosen (submit) stream methods.
func (s *SI) methods() []string {
	if s.Feature == nil {
		return nil
	}
	var out []string
	for _, f := range s.Feature.Form.Fields {
		if f.Var != "stream-method" {
			continue
		}
		for _, o := range f.Options {
			out = append(out, o.Value)
		}
		out = append(out, f.Values...)
	}
	return out
}

func offerFeature(methods []string) *Feature {
	f := Field{Var: "stream-method", Type: "list-single"}
	for _, m := range methods {
		f.Options = append(f.Options, Option{Value: m})
	}
	return &Feature{Form: Form{Type: "form", Fields: []Field{f}}}
}

func answerFeature(method string) *Feature {
	return &Feature{Form: Form{Type: "submit", Fields: []Field{{Var: "stream-method", Values: []string{method}}}}}
}

// ParseSI decodes an <si/> payload.
func ParseSI(el stanza.Element) (*SI, error) {
	var s SI
	if err := el.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse si: %w", err)
	}
	if s.File != nil && s.File.Size < 0 {
		return nil, fmt.Errorf("parse si: negative size")
	}
	return &s, nil
}
