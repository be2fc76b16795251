package outbox

import (
	"errors"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	long := strings.Repeat("x", MaxLine+1)
	exact := strings.Repeat("y", MaxLine)
	for _, tc := range []struct {
		name, in string
		want     []string // "!" marks a too-long line
	}{
		{"plain", "a\nb\n", []string{"a", "b"}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"crlf and blanks", "a\r\n\n  \r\nb\r\n", []string{"a", "b"}},
		{"too long in the middle", "a\n" + long + "\nb\n", []string{"a", "!", "b"}},
		{"too long at the end", "a\n" + long, []string{"a", "!"}},
		{"exactly the limit", exact + "\n", []string{exact}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := Lines(strings.NewReader(tc.in), MaxLine, func(l string, tooLong error) error {
				if tooLong != nil {
					if !errors.Is(tooLong, ErrLineTooLong) {
						t.Errorf("error %v", tooLong)
					}
					l = "!"
				}
				got = append(got, l)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %d lines %.40q, want %d %.40q", len(got), got, len(tc.want), tc.want)
			}
		})
	}
}

func FuzzLines(f *testing.F) {
	f.Add("a\nb\r\n\n", 3)
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max <= 0 || max > 1<<16 {
			max = 8
		}
		_ = Lines(strings.NewReader(in), max, func(l string, tooLong error) error {
			if tooLong == nil && (len(l) > max || strings.ContainsRune(l, '\n') || strings.TrimSpace(l) == "") {
				t.Fatalf("line %q passed (max %d)", l, max)
			}
			return nil
		})
	})
}
