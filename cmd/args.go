package cmd

// Argument validators. cobra's own (cobra.NoArgs, MaximumNArgs, ...) return
// plain errors whose only mark is their text; these return a *UsageError,
// so that exit.go maps a wrong argument count to exit status 2 by type.
// Every command uses one of them (TestEveryCommandRefusesBadUsage).

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// usageArgs types the errors of a cobra validator as usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := v(c, args); err != nil {
			return &UsageError{Err: err, Hint: helpHint(c)}
		}
		return nil
	}
}

// noArgs refuses any argument. On a command with subcommands the argument
// is a mistyped subcommand: the hint suggests the nearest names.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if !c.HasSubCommands() {
		return &UsageError{Err: fmt.Errorf("%s takes no arguments, got %q", c.CommandPath(), args[0]), Hint: helpHint(c)}
	}
	hint := helpHint(c)
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set where it suggests itself
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		hint = "did you mean " + strings.Join(s, " or ") + "? " + hint
	}
	return &UsageError{Err: fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()), Hint: hint}
}

// maxArgs is cobra.MaximumNArgs as a usage error.
func maxArgs(n int) cobra.PositionalArgs { return usageArgs(cobra.MaximumNArgs(n)) }

// minArgs is cobra.MinimumNArgs as a usage error.
func minArgs(n int) cobra.PositionalArgs { return usageArgs(cobra.MinimumNArgs(n)) }

// exactArgs is cobra.ExactArgs with our own message.
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return &UsageError{Err: fmt.Errorf("%s", msg), Hint: helpHint(c)}
		}
		return nil
	}
}

// flagError is the root's FlagErrorFunc: every error of flag parsing
// (unknown flag, missing or invalid value) is a usage error.
func flagError(c *cobra.Command, err error) error {
	return &UsageError{Err: err, Hint: helpHint(c)}
}

func helpHint(c *cobra.Command) string { return "see " + c.CommandPath() + " --help" }

// addCompletionCmd adds cobra's completion command now rather than during
// Execute, so that its commands get validators returning usage errors
// too: "completion bash extra" exits 2 like every other mistake.
func addCompletionCmd(root *cobra.Command, args []string) {
	root.InitDefaultCompletionCmd(args...)
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			typeArgs(c)
		}
	}
}

func typeArgs(c *cobra.Command) {
	switch {
	case !c.Runnable():
		// A command without a run function shows its help before
		// validating; "completion bogus" would exit 0.
		c.Args = noArgs
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	case c.Args != nil:
		c.Args = usageArgs(c.Args)
	}
	for _, sub := range c.Commands() {
		typeArgs(sub)
	}
}
