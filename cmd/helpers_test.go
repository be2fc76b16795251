package cmd

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
)

func unmarshal(s string, v any) error { return xml.Unmarshal([]byte(s), v) }

// wantUsageError runs args and checks exit status 2, a stderr line that
// mentions want, and that no connection was attempted.
func wantUsageError(t *testing.T, args []string, want string) {
	t.Helper()
	f, dials, _ := testFactory(t, nil)
	code := Run(context.Background(), f, args)
	stderr := f.IO.ErrOut.(interface{ String() string }).String()
	if code != ExitUsage {
		t.Errorf("exit %d, want %d (stderr %q)", code, ExitUsage, stderr)
	}
	if *dials != 0 {
		t.Errorf("connected despite bad input")
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not mention %q", stderr, want)
	}
}
