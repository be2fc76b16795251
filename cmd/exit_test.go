package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		interrupted bool
		want        int
	}{
		{"nil", nil, false, ExitOK},
		{"usage", usageErrorf("bad"), false, ExitUsage},
		{"config", &config.Error{Msg: "x"}, false, ExitUsage},
		{"flag error", flagError(&cobra.Command{Use: "x"}, errors.New("unknown flag: --nope")), false, ExitUsage},
		{"usage text alone is not typed", errors.New("unknown flag: --nope"), false, ExitError},
		{"auth", fmt.Errorf("connect: %w", &conn.AuthError{}), false, ExitAuth},
		{"stanza", fmt.Errorf("x: %w", &stanza.Error{Condition: "item-not-found"}), false, ExitRemote},
		{"remote", &RemoteError{Err: errors.New("too large")}, false, ExitRemote},
		{"connect", &conn.ConnectError{Err: errors.New("refused")}, false, ExitConnect},
		{"timeout", fmt.Errorf("wait: %w", context.DeadlineExceeded), false, ExitTimeout},
		{"os deadline", os.ErrDeadlineExceeded, false, ExitTimeout},
		{"interrupted", context.Canceled, true, ExitInterrupted},
		{"partial", &PartialError{Failed: 1, Total: 2, First: &stanza.Error{}}, false, ExitPartial},
		{"all failed takes the first's code", &PartialError{Failed: 2, Total: 2, First: &stanza.Error{}}, false, ExitRemote},
		{"omemo no device", fmt.Errorf("bob@x: %w", &omemo.NoDeviceError{JID: "bob@x", Reason: "none"}), false, ExitRemote},
		{"omemo partial", &PartialError{Failed: 1, Total: 2, First: &omemo.NoDeviceError{JID: "bob@x"}}, false, ExitPartial},
		{"archive server repeating pages", fmt.Errorf("sync: %w", mam.ErrPageRepeated), false, ExitRemote},
		{"other", errors.New("boom"), false, ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err, tt.interrupted); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestReportIsOneLineAndSanitized(t *testing.T) {
	var b bytes.Buffer
	code := report(&b, &stanza.Error{Condition: "forbidden", Text: "evil\x1b[2J\nsecond line"}, false)
	if code != ExitRemote {
		t.Errorf("code %d", code)
	}
	out := b.String()
	if strings.Count(out, "\n") != 1 || strings.Contains(out, "\x1b") {
		t.Errorf("report = %q", out)
	}
	b.Reset()
	report(&b, &conn.AuthError{Reason: "x"}, false)
	if !strings.Contains(b.String(), "\nhint: ") {
		t.Errorf("auth failure without hint: %q", b.String())
	}
}

func TestHintOMEMO(t *testing.T) {
	err := fmt.Errorf("bob@x: %w", &omemo.NoDeviceError{JID: "bob@x", Reason: "it publishes no OMEMO device"})
	if got := hintFor(err); got != "xmppctl omemo devices bob@x" {
		t.Fatalf("hint %q", got)
	}
}
