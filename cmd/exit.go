package cmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/term"
)

// Exit statuses, documented in README.md and the man page. This file is the
// only place that maps errors to them.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitPartial     = 3
	ExitAuth        = 4
	ExitRemote      = 5
	ExitConnect     = 6
	ExitTimeout     = 7
	ExitInterrupted = 130
)

// UsageError is bad input found before connecting: a flag, an argument, a
// file.
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// PartialError reports that some items (recipients, files) failed and
// others succeeded; each failure was already printed.
type PartialError struct {
	Failed, Total int
	First         error // the first failure, for the exit status when all failed
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d of %d failed", e.Failed, e.Total)
}

func (e *PartialError) Unwrap() error { return e.First }

// RemoteError is a refusal by the server or peer that is not a stanza
// error: a missing service, a file over the limit.
type RemoteError struct {
	Err  error
	Hint string
}

func (e *RemoteError) Error() string { return e.Err.Error() }
func (e *RemoteError) Unwrap() error { return e.Err }

// exitCode maps an error to the exit status.
func exitCode(err error, interrupted bool) int {
	var (
		usage   *UsageError
		cfg     *config.Error
		partial *PartialError
		auth    *conn.AuthError
		remote  *RemoteError
		se      *stanza.Error
		connErr *conn.ConnectError
		noDev   *omemo.NoDeviceError
		room    *omemo.RoomError
	)
	switch {
	case err == nil:
		return ExitOK
	case interrupted && errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &partial) && partial.Failed < partial.Total:
		return ExitPartial
	case errors.As(err, &usage), errors.As(err, &cfg):
		return ExitUsage
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ExitTimeout
	case errors.As(err, &auth):
		return ExitAuth
	case errors.As(err, &remote), errors.As(err, &se), errors.As(err, &noDev), errors.As(err, &room),
		errors.Is(err, mam.ErrPageRepeated):
		return ExitRemote
	case errors.As(err, &connErr):
		return ExitConnect
	case interrupted:
		return ExitInterrupted
	}
	return ExitError
}

// hintFor returns the fix for errors where one is known.
func hintFor(err error) string {
	var (
		usage   *UsageError
		cfg     *config.Error
		remote  *RemoteError
		auth    *conn.AuthError
		pin     *conn.PinError
		unknown x509.UnknownAuthorityError
		record  tls.RecordHeaderError
		connErr *conn.ConnectError
		noDev   *omemo.NoDeviceError
		room    *omemo.RoomError
	)
	switch {
	case errors.As(err, &noDev):
		return noDev.Hint()
	case errors.As(err, &room):
		return room.Hint()
	case errors.As(err, &usage) && usage.Hint != "":
		return usage.Hint
	case errors.As(err, &cfg) && cfg.Hint != "":
		return cfg.Hint
	case errors.As(err, &remote) && remote.Hint != "":
		return remote.Hint
	case errors.As(err, &auth):
		return "check the account's password (XMPPCTL_PASSWORD, password or password_command in the config)"
	case errors.As(err, &pin):
		return "the server's key changed or this is not your server; update pin only if you trust it"
	case errors.As(err, &unknown), errors.As(err, &connErr) && connErr.Cert:
		return "the server's certificate is not trusted: set ca_file (or --ca-file) to its CA, or pin its key"
	case errors.As(err, &record):
		return "the server did not answer with TLS: check --tls (direct or starttls) and the port"
	case errors.Is(err, context.DeadlineExceeded):
		return "raise --timeout if the server or peer is slow"
	}
	return ""
}

// report prints err as one line (plus a hint line) and returns the exit
// status.
func report(w io.Writer, err error, interrupted bool) int {
	code := exitCode(err, interrupted)
	if code == ExitOK {
		return code
	}
	if code == ExitInterrupted {
		fmt.Fprintln(w, "xmppctl: interrupted")
		return code
	}
	fmt.Fprintln(w, "xmppctl: "+term.Sanitize(err.Error(), false))
	if h := hintFor(err); h != "" {
		fmt.Fprintln(w, "hint: "+term.Sanitize(h, false))
	}
	return code
}
