package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestOutcome(t *testing.T) {
	refused := &RemoteError{Err: errors.New("bob@example.org: declined")}
	timeout := fmt.Errorf("carol@example.org: %w", context.DeadlineExceeded)
	notFound := fmt.Errorf("dave@example.org: %w", &stanza.Error{Type: "cancel", Condition: "item-not-found"})
	for _, tt := range []struct {
		name      string
		total     int
		failures  []error
		wantCode  int
		wantSame  bool   // the error is the only failure itself
		wantLines string // printed by reportOutcome
	}{
		{name: "all ok", total: 3, wantCode: ExitOK},
		{name: "one item, ok", total: 1, wantCode: ExitOK},
		{name: "one item, refused", total: 1, failures: []error{refused}, wantCode: ExitRemote, wantSame: true},
		{name: "one item, timed out", total: 1, failures: []error{timeout}, wantCode: ExitTimeout, wantSame: true},
		{name: "some failed", total: 3, failures: []error{refused, timeout}, wantCode: ExitPartial,
			wantLines: "xmppctl: bob@example.org: declined\nxmppctl: carol@example.org: " + context.DeadlineExceeded.Error() + "\n"},
		{name: "all failed: the first failure's status", total: 2, failures: []error{notFound, timeout}, wantCode: ExitRemote,
			wantLines: "xmppctl: dave@example.org: remote error: item-not-found\nxmppctl: carol@example.org: " + context.DeadlineExceeded.Error() + "\n"},
		{name: "all failed, timeout first", total: 2, failures: []error{timeout, refused}, wantCode: ExitTimeout,
			wantLines: "xmppctl: carol@example.org: " + context.DeadlineExceeded.Error() + "\nxmppctl: bob@example.org: declined\n"},
		{name: "remote text sanitised", total: 2, failures: []error{errors.New("x: \x1b[31mred")}, wantCode: ExitPartial,
			wantLines: "xmppctl: x: red\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			err := reportOutcome(&w, tt.total, tt.failures)
			if got := exitCode(err, false); got != tt.wantCode {
				t.Errorf("exit status %d (%v), want %d", got, err, tt.wantCode)
			}
			if tt.wantSame && err != tt.failures[0] {
				t.Errorf("error %v, want the failure itself", err)
			}
			var pe *PartialError
			if errors.As(err, &pe) && (pe.Failed != len(tt.failures) || pe.Total != tt.total) {
				t.Errorf("PartialError %d of %d, want %d of %d", pe.Failed, pe.Total, len(tt.failures), tt.total)
			}
			if got := w.String(); got != tt.wantLines {
				t.Errorf("printed %q, want %q", got, tt.wantLines)
			}
		})
	}
}
