package cmd

// The outcome of a command over several items (recipients, files, rooms,
// contacts), the same in every command: nil when all succeeded, the
// failure itself when the only item failed, else a PartialError (exit 3
// when some succeeded, the first failure's own status when all failed;
// see exitCode). Each failure of several gets its own line on stderr.

import (
	"fmt"
	"io"

	"github.com/xmppctl/xmppctl/pkg/term"
)

// outcome turns the failures among total items into the command's error.
func outcome(total int, failures []error) error {
	switch {
	case len(failures) == 0:
		return nil
	case len(failures) == 1 && total == 1:
		return failures[0]
	}
	return &PartialError{Failed: len(failures), Total: total, First: failures[0]}
}

// reportOutcome is outcome for commands that did not print the failures
// as they came: when the error is a summary it first prints each failure.
func reportOutcome(w io.Writer, total int, failures []error) error {
	err := outcome(total, failures)
	if _, ok := err.(*PartialError); ok {
		for _, e := range failures {
			printFailure(w, e)
		}
	}
	return err
}

// printFailure writes one item's failure on its own line, sanitised (it
// may quote remote text).
func printFailure(w io.Writer, err error) {
	fmt.Fprintln(w, "xmppctl: "+term.Sanitize(err.Error(), false))
}
