package aesgcm

import (
	"bytes"
	"strings"
	"testing"
)

func TestURLRoundTrip(t *testing.T) {
	s := &Secret{Key: bytes.Repeat([]byte{0xab}, KeySize), IV: bytes.Repeat([]byte{0x01}, IVSize)}
	got, err := s.URL("https://upload.example.org:5281/share/abc/photo%20one.jpg?x=1")
	if err != nil {
		t.Fatal(err)
	}
	want := "aesgcm://upload.example.org:5281/share/abc/photo%20one.jpg?x=1#" +
		strings.Repeat("01", IVSize) + strings.Repeat("ab", KeySize)
	if got != want {
		t.Fatalf("URL = %s\nwant %s", got, want)
	}
	httpsURL, back, err := ParseURL(got)
	if err != nil {
		t.Fatal(err)
	}
	if httpsURL != "https://upload.example.org:5281/share/abc/photo%20one.jpg?x=1" ||
		!bytes.Equal(back.Key, s.Key) || !bytes.Equal(back.IV, s.IV) {
		t.Fatalf("ParseURL = %s, %x, %x", httpsURL, back.Key, back.IV)
	}
	for _, bad := range []string{"http://h/p", "ftp://h/p", "https:///p", "https://u:p@h/p"} {
		if _, err := s.URL(bad); err == nil {
			t.Errorf("URL(%q) was accepted", bad)
		}
	}
}

func TestParseURL(t *testing.T) {
	iv12, iv16, key := strings.Repeat("0a", 12), strings.Repeat("0B", 16), strings.Repeat("cd", 32)
	tests := []struct {
		in, https string
		ivLen     int
		ok        bool
	}{
		{"aesgcm://h.example/a/b.png#" + iv12 + key, "https://h.example/a/b.png", 12, true},
		{"AESGCM://h.example/b.png#" + iv16 + key, "https://h.example/b.png", 16, true},
		{"aesgcm://[::1]:8443/x#" + iv12 + key, "https://[::1]:8443/x", 12, true},
		{"aesgcm://h.example/b.png", "", 0, false},
		{"aesgcm://h.example/b.png#" + iv12 + key[:62], "", 0, false},
		{"aesgcm://h.example/b.png#" + iv12 + key + "00", "", 0, false},
		{"aesgcm://h.example/b.png#" + iv12 + key[:62] + "zz", "", 0, false},
		{"aesgcm:///b.png#" + iv12 + key, "", 0, false},
		{"aesgcm:h.example/b.png#" + iv12 + key, "", 0, false},
		{"aesgcm://u:p@h.example/b.png#" + iv12 + key, "", 0, false},
		{"https://h.example/b.png#" + iv12 + key, "", 0, false},
		{"aesgcm://h.example/%zz#" + iv12 + key, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, s, err := ParseURL(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("accepted: %s", u)
				}
				if strings.Contains(err.Error(), key[:16]) {
					t.Fatalf("the error repeats the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u != tt.https || len(s.IV) != tt.ivLen || len(s.Key) != KeySize {
				t.Fatalf("got %s, iv %d bytes, key %d bytes", u, len(s.IV), len(s.Key))
			}
		})
	}
}

// FuzzParseURL: a URL from a message never panics the parser; what it
// accepts is an https URL with a host, and a secret of legal sizes that
// turns back into the same aesgcm URL (up to hex case and normalisation).
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"aesgcm://h/p#" + strings.Repeat("0", 88),
		"aesgcm://h/p#" + strings.Repeat("f", 96),
		"aesgcm://h:1/%41?q#" + strings.Repeat("A", 88),
		"aesgcm://@/#", "aesgcm://h/p#%30", "", "aesgcm:", "aesgcm://[::1/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, s, err := ParseURL(raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(u, "https://") || len(s.Key) != KeySize || (len(s.IV) != IVSize && len(s.IV) != LegacyIVSize) {
			t.Fatalf("ParseURL(%q) = %q, iv %d, key %d", raw, u, len(s.IV), len(s.Key))
		}
		again, err := s.URL(u)
		if err != nil {
			t.Fatalf("ParseURL(%q) gave %q, which URL refuses: %v", raw, u, err)
		}
		u2, s2, err := ParseURL(again)
		if err != nil || u2 != u || !bytes.Equal(s2.Key, s.Key) || !bytes.Equal(s2.IV, s.IV) {
			t.Fatalf("round trip of %q: %q, %v", raw, again, err)
		}
	})
}
