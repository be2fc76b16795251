package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	i := Read("1.2.3", "0.1.0-dev")
	if i.Version != "1.2.3" || i.Go != runtime.Version() || i.OS != runtime.GOOS || i.Arch != runtime.GOARCH {
		t.Fatalf("Read = %+v", i)
	}
	// In a test binary the main module is "(devel)" or empty: the
	// default stays.
	if d := Read("0.1.0-dev", "0.1.0-dev"); d.Version != "0.1.0-dev" {
		t.Fatalf("unstamped version %q", d.Version)
	}
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.0.0", Revision: "abc", RevisionTime: "2026-01-02T03:04:05Z", Modified: true,
		Go: "go1.26.8", OS: "linux", Arch: "amd64"}.String()
	want := "xmppctl version v1.0.0\ncommit abc (2026-01-02T03:04:05Z, modified)\nbuilt with go1.26.8 for linux/amd64\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if s := (Info{Version: "x", Go: "go", OS: "o", Arch: "a"}).String(); strings.Contains(s, "commit") {
		t.Fatalf("no revision, yet %q", s)
	}
}
