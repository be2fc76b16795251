package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandRefusesBadUsage runs every command of the tree with a
// wrong number of arguments and with an unknown flag: each must exit 2
// with one line (and at most a hint line) on stderr, before connecting.
// A command whose validator accepts both no arguments and many fails the
// test: every command declares what it takes.
func TestEveryCommandRefusesBadUsage(t *testing.T) {
	f, _, _ := testFactory(t, nil)
	var walk func(c *cobra.Command)
	var cmds []*cobra.Command
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := NewRootCmd(f)
	addCompletionCmd(root, nil)
	walk(root)
	many := strings.Fields(strings.Repeat("bob@example.org ", 12))
	for _, c := range cmds {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(append([]string{"xmppctl"}, path...), " "), func(t *testing.T) {
			var wrong []string
			found := false
			for _, args := range [][]string{{}, many} {
				if !found && c.ValidateArgs(args) != nil {
					wrong, found = args, true
				}
			}
			if !found {
				t.Fatalf("accepts both no arguments and %d: give it a validator (noArgs, maxArgs, exactArgs, ...)", len(many))
			}
			wantUsage(t, append(append([]string{}, path...), wrong...))
			wantUsage(t, append(append([]string{}, path...), "--no-such-flag"))
			wantUsage(t, append(append([]string{}, path...), "-Z"))
		})
	}
}

func wantUsage(t *testing.T, args []string) {
	t.Helper()
	f, dials, _ := testFactory(t, nil)
	code := Run(context.Background(), f, args)
	stderr := f.IO.ErrOut.(interface{ String() string }).String()
	stdout := f.IO.Out.(interface{ String() string }).String()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	switch {
	case code != ExitUsage:
		t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, ExitUsage, stderr)
	case *dials != 0:
		t.Errorf("%q: connected despite bad usage", args)
	case stdout != "":
		t.Errorf("%q: stdout %q", args, stdout)
	case !strings.HasPrefix(lines[0], "xmppctl: ") || len(lines) > 2 || len(lines) == 2 && !strings.HasPrefix(lines[1], "hint: "):
		t.Errorf("%q: stderr %q, want one error line and at most a hint", args, stderr)
	}
}

// TestUsageErrorsAreTyped: the validators and the flag error function
// return *UsageError, so exit.go needs no message matching.
func TestUsageErrorsAreTyped(t *testing.T) {
	c := &cobra.Command{Use: "x"}
	c.AddCommand(&cobra.Command{Use: "search", Run: func(*cobra.Command, []string) {}})
	leaf := &cobra.Command{Use: "leaf"}
	tests := []struct {
		name     string
		err      error
		wantHint string
	}{
		{"noArgs on a parent", noArgs(c, []string{"serach"}), "did you mean search? see x --help"},
		{"noArgs on a leaf", noArgs(leaf, []string{"a"}), "see leaf --help"},
		{"maxArgs", maxArgs(1)(leaf, []string{"a", "b"}), "see leaf --help"},
		{"minArgs", minArgs(2)(leaf, []string{"a"}), "see leaf --help"},
		{"exactArgs", exactArgs(1, "give one JID")(leaf, nil), "see leaf --help"},
		{"flag error", flagError(leaf, errors.New("unknown flag: --nope")), "see leaf --help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u *UsageError
			if !errors.As(tt.err, &u) || u.Hint != tt.wantHint {
				t.Fatalf("got %#v, want a *UsageError with hint %q", tt.err, tt.wantHint)
			}
			if exitCode(tt.err, false) != ExitUsage {
				t.Fatalf("exit %d", exitCode(tt.err, false))
			}
		})
	}
	for _, ok := range []error{noArgs(c, nil), maxArgs(1)(leaf, []string{"a"}), minArgs(1)(leaf, []string{"a"}),
		exactArgs(1, "x")(leaf, []string{"a"})} {
		if ok != nil {
			t.Errorf("refused a valid count: %v", ok)
		}
	}
}
