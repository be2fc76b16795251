package pep

import "encoding/xml"

// Form is the subset of an XEP-0004 data form that node configuration and
// publish-options use.
type Form struct {
	XMLName xml.Name `xml:"jabber:x:data x"`
	Type    string   `xml:"type,attr"`
	Fields  []Field  `xml:"field"`
}

// Field is one data form field.
type Field struct {
	Var    string   `xml:"var,attr,omitempty"`
	Type   string   `xml:"type,attr,omitempty"`
	Values []string `xml:"value"`
}

// Value returns the first value of the field var ("" if absent).
func (f Form) Value(v string) string {
	for _, fl := range f.Fields {
		if fl.Var == v && len(fl.Values) > 0 {
			return fl.Values[0]
		}
	}
	return ""
}

// submitForm builds a submit form of the given FORM_TYPE with one field.
func submitForm(formType, v, value string) *Form {
	return &Form{Type: "submit", Fields: []Field{
		{Var: "FORM_TYPE", Type: "hidden", Values: []string{formType}},
		{Var: v, Values: []string{value}},
	}}
}
