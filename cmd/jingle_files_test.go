package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSafeFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{"/etc/shadow", "_etc_shadow"},
		{"..", "file"},
		{".", "file"},
		{"", "file"},
		{".bashrc", "bashrc"},
		{"a\x00b", "ab"},
		{"c:\\windows\\x.exe", "c:_windows_x.exe"},
		{"evil\u202egpj.exe", "evil_gpj.exe"},
		{"line\nbreak", "line_break"},
		{"  spaced  ", "spaced"},
		{"日本語.txt", "日本語.txt"},
		// Issue 14 defect 3: spaces between dots hid the file.
		{". .bashrc", "bashrc"},
		{".\u00a0.hidden2", "hidden2"},
		{" . . .x", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := safeFileName(tt.in); got != tt.want {
				t.Errorf("safeFileName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	long := strings.Repeat("é", 300) + ".txt"
	got := safeFileName(long)
	if len(got) > maxNameBytes || !strings.HasSuffix(got, ".txt") {
		t.Errorf("long name: %d bytes, %q…", len(got), got[len(got)-8:])
	}
}

func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"a", "../x", "\x00", "..", "a/b\\c", ". .bashrc", ".\u00a0.hidden2",
		strings.Repeat("x", 199) + " .txt", strings.Repeat("y", 199) + "  z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeFileName(s)
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, "/\\\x00") {
			t.Fatalf("safeFileName(%q) = %q", s, got)
		}
		if filepath.Base(got) != got {
			t.Fatalf("safeFileName(%q) = %q is not one path element", s, got)
		}
		// A saved name is never hidden, and sanitising is stable.
		if strings.HasPrefix(got, ".") {
			t.Fatalf("safeFileName(%q) = %q is a hidden file", s, got)
		}
		if again := safeFileName(got); again != got {
			t.Fatalf("safeFileName(%q) = %q, but safeFileName(%q) = %q", s, got, got, again)
		}
	})
}

func TestSaveNoClobber(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		f, err := os.CreateTemp(dir, ".part-*")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(content)
		f.Close()
		return f.Name()
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	p1, err := saveNoClobber(write("one"), dir, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := saveNoClobber(write("two"), dir, "../a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p1) != "a (1).txt" || filepath.Base(p2) != "_a.txt" {
		t.Errorf("paths %s, %s", p1, p2)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "old" {
		t.Errorf("existing file overwritten: %q", b)
	}
	if b, _ := os.ReadFile(p1); string(b) != "one" {
		t.Errorf("%s = %q", p1, b)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".part-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
