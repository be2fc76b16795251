package docgen

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestCheckedInDocsAreFresh fails when man/ or completions/ differ from
// what the command tree generates: run scripts/gendocs.
func TestCheckedInDocsAreFresh(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	tmp := t.TempDir()
	if err := Generate(tmp); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"man", "completions"} {
		want, _ := filepath.Glob(filepath.Join(tmp, sub, "*"))
		have, _ := filepath.Glob(filepath.Join(repo, sub, "*"))
		if len(want) != len(have) {
			t.Errorf("%s/: %d files checked in, %d generated; run scripts/gendocs", sub, len(have), len(want))
		}
		for _, w := range want {
			gen, _ := os.ReadFile(w)
			cur, err := os.ReadFile(filepath.Join(repo, sub, filepath.Base(w)))
			if err != nil || string(gen) != string(cur) {
				t.Errorf("%s/%s is stale; run scripts/gendocs", sub, filepath.Base(w))
			}
		}
	}
}
