// Package styling implements XEP-0393 Message Styling: it parses a message
// body into runs of text with the styles its directives imply (strong,
// emphasis, strike-through, preformatted spans and blocks, quotations)
// and renders them with ANSI SGR sequences for a terminal.
//
// Parsing is lossless: the runs' texts, concatenated, are the body. The
// directives themselves are kept (marked Directive) and displayed, as the
// specification recommends. The input must already be safe for a terminal
// (pkg/term.Sanitize); Render adds only its own SGR sequences.
package styling
