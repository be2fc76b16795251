package term

import (
	"strings"
	"testing"
	"unicode"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		in, want string
		nl       bool
	}{
		{"plain text", "plain text", false},
		{"red \x1b[31mALERT\x1b[0m done", "red ALERT done", false},
		{"title \x1b]0;pwned\x07 after", "title  after", false},
		{"title ST \x1b]2;x\x1b\\ after", "title ST  after", false},
		{"c1 \u009b2J clear", "c1  clear", false},
		{"cr\roverwrite", "croverwrite", false},
		{"multi\nline\ttab", "multi line tab", false},
		{"multi\nline", "multi\nline", true},
		{"bidi \u202egnp.exe", "bidi gnp.exe", false},
		{"bell\x07 nul\x00", "bell nul", false},
		{"dangling esc \x1b", "dangling esc ", false},
		{"ünïcödé 🎉", "ünïcödé 🎉", false},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in, tt.nl); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"\x1b[1;31m", "\x1b]8;;http://x\x1b\\link", "\u009b", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s, true)
		for _, r := range out {
			if r != '\n' && r != '\t' && unicode.IsControl(r) {
				t.Fatalf("control %U survived in %q", r, out)
			}
		}
		if strings.ContainsRune(out, 0x1b) {
			t.Fatalf("ESC survived")
		}
	})
}
