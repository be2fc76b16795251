package styling

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// show renders runs compactly: styled text in brackets with its style
// letters (s strong, e emph, x strike, p pre, B pre block, q quote, d
// directive), plain text as is.
func show(runs []Run) string {
	var b strings.Builder
	for _, r := range runs {
		if r.Style == 0 || r.Text == "\n" {
			b.WriteString(r.Text)
			continue
		}
		b.WriteString("[")
		for _, f := range []struct {
			s Style
			c string
		}{{Strong, "s"}, {Emph, "e"}, {Strike, "x"}, {Pre, "p"}, {PreBlock, "B"}, {Quote, "q"}, {Directive, "d"}} {
			if r.Style&f.s != 0 {
				b.WriteString(f.c)
			}
		}
		b.WriteString(":" + r.Text + "]")
	}
	return b.String()
}

// Vectors from the examples of XEP-0393 §5 and §6 (business rules).
func TestParseXEP0393Vectors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"I am *strong* and _emphasized_", "I am [sd:*][s:strong][sd:*] and [ed:_][e:emphasized][ed:_]"},
		{"~strike~", "[xd:~][x:strike][xd:~]"},
		{"`pre *not strong*`", "[pd:`][p:pre *not strong*][pd:`]"},
		{"*_strong emph_*", "[sd:*][sed:_][se:strong emph][sed:_][sd:*]"},
		{"This is *not\nstrong*", "This is *not\nstrong*"},
		{"**", "**"},
		{"***", "[sd:*][s:*][sd:*]"},
		{"* strong*", "* strong*"},
		{"*strong *", "*strong *"},
		{"a*b*", "a*b*"},
		{"*a* b *c*", "[sd:*][s:a][sd:*] b [sd:*][s:c][sd:*]"},
		{"*a _b* c_", "[sd:*][s:a _b][sd:*] c_"},
		{"_*_", "[ed:_][e:*][ed:_]"},
		{"```\npre *x*\n```\nafter *y*", "[Bd:```]\n[B:pre *x*]\n[Bd:```]\nafter [sd:*][s:y][sd:*]"},
		{"```tag\nunclosed", "[Bd:```tag]\n[B:unclosed]"},
		{"> quoted *s*\nnot", "[qd:> ][q:quoted ][sqd:*][sq:s][sqd:*]\nnot"},
		{">> nested\n> outer", "[qd:>][qd:> ][q:nested]\n[qd:> ][q:outer]"},
		{"> ```\n> code\nplain", "[qd:> ][Bqd:```]\n[qd:> ][Bq:code]\nplain"},
		{"", ""},
		{"plain\n", "plain\n"},
		{"x ` y`", "x ` y`"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Parse(tt.in)
			if s := show(got); s != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, s, tt.want)
			}
			if j := join(got); j != tt.in {
				t.Errorf("runs join to %q, want the input back", j)
			}
		})
	}
}

func join(runs []Run) string {
	var b strings.Builder
	for _, r := range runs {
		b.WriteString(r.Text)
	}
	return b.String()
}

func TestRender(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"*b*", "\x1b[2;1m*\x1b[0m\x1b[1mb\x1b[0m\x1b[2;1m*\x1b[0m"},
		{"> q", "\x1b[2;32m> \x1b[0m\x1b[32mq\x1b[0m"},
		{"a\nb", "a\nb"},
	}
	for _, tt := range tests {
		if got := Render(tt.in); got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks that parsing never panics, is lossless, never yields
// empty runs and only yields valid UTF-8 runs from valid input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"*a*", "_a_ ~b~ `c`", "```\nx\n```", "> a\n>> b\n> ```\n> c", "*_~`", "\n\n", "* a *", "é*ü*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		runs := Parse(in)
		if j := join(runs); j != in {
			t.Fatalf("not lossless: %q -> %q", in, j)
		}
		for _, r := range runs {
			if r.Text == "" {
				t.Fatalf("empty run in %q", in)
			}
			if utf8.ValidString(in) && !utf8.ValidString(r.Text) {
				t.Fatalf("run %q splits a rune of %q", r.Text, in)
			}
		}
		_ = Render(in)
	})
}
