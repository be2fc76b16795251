package upload

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiskFile(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctrl := filepath.Join(dir, "bad\x1bname")
	if err := os.WriteFile(ctrl, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, as string
		wantName       string
		wantIs         error // with an *InputError; nil: no error
	}{
		{name: "plain file", path: text, wantName: "notes.txt"},
		{name: "renamed", path: text, as: "other.txt", wantName: "other.txt"},
		{name: "missing", path: filepath.Join(dir, "nope"), wantIs: fs.ErrNotExist},
		{name: "directory", path: dir, wantIs: errIsDir},
		{name: "device", path: os.DevNull, wantIs: ErrNotRegular},
		{name: "control character in the name", path: ctrl, wantIs: ErrBadName},
		{name: "control character, renamed", path: ctrl, as: "ok.txt", wantName: "ok.txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DiskFile(tt.path, tt.as)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("DiskFile(%q) error = %v", tt.path, err)
				}
				if f.Name != tt.wantName {
					t.Errorf("Name = %q, want %q", f.Name, tt.wantName)
				}
				return
			}
			var in *InputError
			if !errors.As(err, &in) {
				t.Fatalf("DiskFile(%q) error = %v (%T), want an *InputError", tt.path, err, err)
			}
			if tt.wantIs != errIsDir && !errors.Is(err, tt.wantIs) {
				t.Errorf("DiskFile(%q) error = %v, want %v", tt.path, err, tt.wantIs)
			}
		})
	}
}

// errIsDir marks the directory case, whose error has no sentinel.
var errIsDir = errors.New("is a directory")

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"a.txt": true, "": false, ".": false, "..": false, "a/b": false, "a\x00b": false, "a\x01b": false} {
		err := CheckName(name)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrBadName)) {
			t.Errorf("CheckName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestStream(t *testing.T) {
	f := Stream(strings.NewReader("%PDF-1.7 short"), "doc", 100)
	if f.ContentType != "application/pdf" {
		t.Errorf("ContentType = %q, want application/pdf (from the first bytes)", f.ContentType)
	}
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	var in *InputError
	if !errors.As(err, &in) || string(b) != "%PDF-1.7 short" {
		t.Errorf("reading a stream shorter than its size: %q, %v; want every byte, then an *InputError", b, err)
	}
	if _, err := f.Open(); !errors.Is(err, ErrNoRetry) {
		t.Errorf("second Open error = %v, want ErrNoRetry", err)
	}
}

func TestSpool(t *testing.T) {
	f, spool, err := Spool(strings.NewReader("some text"), "a.txt")
	if spool != "" {
		defer os.Remove(spool)
	}
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != 9 || f.Name != "a.txt" {
		t.Errorf("Spool: size %d name %q, want 9 a.txt", f.Size, f.Name)
	}
	for range 2 { // a spooled file can be read again for a retry
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "some text" {
			t.Errorf("read %q, want %q", b, "some text")
		}
	}
}
