package pep

import "github.com/xmppctl/xmppctl/pkg/disco"

// Form and Field are XEP-0004 data forms, as node configuration and
// publish-options use them; the same types as service discovery's.
type (
	Form  = disco.Form
	Field = disco.Field
)

// submitForm builds a submit form of the given FORM_TYPE with one field.
func submitForm(formType, v, value string) *Form {
	return &Form{Type: "submit", Fields: []Field{
		{Var: "FORM_TYPE", Type: "hidden", Values: []string{formType}},
		{Var: v, Values: []string{value}},
	}}
}
