package styling

import (
	"strconv"
	"strings"
)

// Render returns body with ANSI SGR styling for a terminal: bold, italic,
// strike-through, cyan for preformatted text, green for quotations and dim
// directives. body must already be sanitised.
func Render(body string) string {
	var b strings.Builder
	for _, r := range Parse(body) {
		if r.Text == "\n" {
			b.WriteString("\n")
			continue
		}
		codes := sgr(r.Style)
		if codes == "" {
			b.WriteString(r.Text)
			continue
		}
		b.WriteString("\x1b[" + codes + "m")
		b.WriteString(r.Text)
		b.WriteString("\x1b[0m")
	}
	return b.String()
}

func sgr(s Style) string {
	var c []int
	if s&Directive != 0 {
		c = append(c, 2)
	}
	if s&Strong != 0 {
		c = append(c, 1)
	}
	if s&Emph != 0 {
		c = append(c, 3)
	}
	if s&Strike != 0 {
		c = append(c, 9)
	}
	switch {
	case s&(Pre|PreBlock) != 0:
		c = append(c, 36)
	case s&Quote != 0:
		c = append(c, 32)
	}
	parts := make([]string, len(c))
	for i, n := range c {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ";")
}
