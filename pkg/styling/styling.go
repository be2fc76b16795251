package styling

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NS is the feature that advertises support (XEP-0393 §5).
const NS = "urn:xmpp:styling:0"

// Style is a set of styles.
type Style uint16

// Styles.
const (
	Strong    Style = 1 << iota // *strong*
	Emph                        // _emphasis_
	Strike                      // ~strike~
	Pre                         // `preformatted span`
	PreBlock                    // ``` block ```
	Quote                       // > quotation
	Directive                   // the styling directive characters themselves
)

// Run is text with one style. Quote is the quotation depth.
type Run struct {
	Text  string
	Style Style
	Quote int
}

// Parse splits body into styled runs. Line breaks are runs of their own
// ("\n", no style besides the enclosing quotation).
func Parse(body string) []Run {
	p := &parser{}
	p.blocks(strings.Split(body, "\n"), 0, 0)
	// Drop the trailing newline emitted after the last line.
	if n := len(p.out); n > 0 && p.out[n-1].Text == "\n" {
		p.out = p.out[:n-1]
	}
	return p.out
}

type parser struct{ out []Run }

func (p *parser) emit(text string, st Style, quote int) {
	if text == "" {
		return
	}
	p.out = append(p.out, Run{Text: text, Style: st, Quote: quote})
}

func (p *parser) newline(st Style, quote int) { p.emit("\n", st&Quote, quote) }

// blocks parses lines (of one parent block) at a quotation depth.
func (p *parser) blocks(lines []string, quote int, st Style) {
	for i := 0; i < len(lines); {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "```"):
			// A preformatted block runs to a line of exactly ``` or to the
			// end of the parent block; its content is not styled.
			p.emit(line, st|PreBlock|Directive, quote)
			p.newline(st, quote)
			j := i + 1
			for ; j < len(lines) && lines[j] != "```"; j++ {
				p.emit(lines[j], st|PreBlock, quote)
				p.newline(st, quote)
			}
			if j < len(lines) {
				p.emit(lines[j], st|PreBlock|Directive, quote)
				p.newline(st, quote)
				j++
			}
			i = j
		case strings.HasPrefix(line, ">"):
			// A quotation: consecutive lines starting with '>'. The '>' and
			// the white space after it are directives; the rest is parsed as
			// blocks of the quotation.
			j := i
			for j < len(lines) && strings.HasPrefix(lines[j], ">") {
				j++
			}
			p.quote(lines[i:j], quote+1, st|Quote)
			i = j
		default:
			p.spans(line, st, quote)
			p.newline(st, quote)
			i++
		}
	}
}

// quote parses the lines of one quotation. Each line's prefix is emitted
// before its content, so the inner blocks are parsed line by line with the
// prefix attached; the output stays in text order.
func (p *parser) quote(lines []string, quote int, st Style) {
	prefixes := make([]string, len(lines))
	inner := make([]string, len(lines))
	for k, l := range lines {
		rest := l[1:]
		trimmed := strings.TrimLeft(rest, " \t")
		prefixes[k] = l[:1+len(rest)-len(trimmed)]
		inner[k] = trimmed
	}
	sub := &parser{}
	sub.blocks(inner, quote, st)
	// Re-insert each line's prefix at the start of its line.
	line := 0
	atStart := true
	for _, r := range sub.out {
		if atStart && line < len(prefixes) {
			p.emit(prefixes[line], st|Directive, quote)
			atStart = false
		}
		p.out = append(p.out, r)
		if r.Text == "\n" {
			line++
			atStart = true
		}
	}
	for ; line < len(prefixes); line++ { // empty trailing quoted lines
		p.emit(prefixes[line], st|Directive, quote)
		p.newline(st, quote)
	}
}

var spanStyle = map[byte]Style{'*': Strong, '_': Emph, '~': Strike, '`': Pre}

// spans parses one line of a plain block.
func (p *parser) spans(line string, st Style, quote int) {
	plain := 0 // start of pending unstyled text
	for i := 0; i < len(line); {
		c := line[i]
		sty, isDir := spanStyle[c]
		if !isDir || !openAt(line, i) {
			_, n := utf8.DecodeRuneInString(line[i:])
			i += n
			continue
		}
		j := closeAfter(line, i)
		if j < 0 {
			i++
			continue
		}
		p.emit(line[plain:i], st, quote)
		p.emit(line[i:i+1], st|sty|Directive, quote)
		if sty == Pre {
			p.emit(line[i+1:j], st|sty, quote)
		} else {
			p.spans(line[i+1:j], st|sty, quote)
		}
		p.emit(line[j:j+1], st|sty|Directive, quote)
		i = j + 1
		plain = i
	}
	p.emit(line[plain:], st, quote)
}

// openAt: an opening directive is at the start of the line (or of the
// enclosing span's content) or after white space, and is not followed by
// white space.
func openAt(s string, i int) bool {
	if i+1 >= len(s) {
		return false
	}
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsSpace(r) {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(s[i+1:])
	return !unicode.IsSpace(r)
}

// closeAfter finds the first valid closing directive for the opening one
// at i (lazy matching): the same character, not preceded by white space,
// with at least one character between. It returns -1 when there is none.
func closeAfter(s string, i int) int {
	c := s[i]
	for k := i + 2; k < len(s); k++ {
		if s[k] != c {
			continue
		}
		r, _ := utf8.DecodeLastRuneInString(s[:k])
		if !unicode.IsSpace(r) {
			return k
		}
	}
	return -1
}
