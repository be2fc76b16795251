package cmd

// Where received files go: names from the network are made safe (no
// directories, no NUL or control characters, no "." or ".."), data is
// written to a hidden temporary file in the target directory, and only a
// verified file gets its final name, never replacing an existing file.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes keeps names within common file-system limits (255 bytes)
// with room for a " (123)" suffix.
const maxNameBytes = 200

// safeFileName turns a name offered by a peer into a single path element.
func safeFileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, r == 0:
			continue
		case r == '/' || r == '\\':
			b.WriteRune('_')
		case unicode.IsControl(r), r == '\u202e', r == '\u202d', r == '\u2066', r == '\u2067', r == '\u2068', r == '\u2069':
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > maxNameBytes {
		ext := filepath.Ext(s)
		if len(ext) > 20 || !utf8.ValidString(ext) {
			ext = ""
		}
		cut := maxNameBytes - len(ext)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + ext
	}
	// Trimming comes last so that nothing after it can expose a dot or a
	// space again: leading dots and spaces together (". .bashrc" must not
	// become ".bashrc"), which keeps the result from being hidden and makes
	// sanitising it again a no-op.
	s = strings.TrimLeftFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	if s == "" {
		s = "file"
	}
	return s
}

// saveNoClobber gives the finished temporary file tmp its final name in
// dir: name, or "name (1).ext", "name (2).ext", ... when taken. It never
// replaces an existing file and never leaves dir.
func saveNoClobber(tmp, dir, name string) (string, error) {
	name = safeFileName(name)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if stem == "" {
		stem, ext = name, ""
	}
	for i := 0; i < 10000; i++ {
		cand := name
		if i > 0 {
			cand = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		path := filepath.Join(dir, cand)
		if filepath.Dir(path) != filepath.Clean(dir) {
			return "", fmt.Errorf("refusing file name %q", name)
		}
		// A hard link fails if the name exists: atomic no-clobber.
		err := os.Link(tmp, path)
		if err == nil {
			_ = os.Remove(tmp)
			return path, nil
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		// No hard links here (some file systems): reserve the name with
		// O_EXCL, then move the data over our own placeholder.
		f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(ferr, os.ErrExist) {
			continue
		}
		if ferr != nil {
			return "", ferr
		}
		f.Close()
		if err := os.Rename(tmp, path); err != nil {
			_ = os.Remove(path)
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("no free name for %q in %s", name, dir)
}
