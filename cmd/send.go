package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/outbox"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

type sendOptions struct {
	f *Factory

	Recipients []string
	Message    string
	MessageSet bool
	Lines      bool
	MUC        bool
	Nick       string
	Subject    string
	Type       string
	OOB        string
	Receipt    bool
	OMEMO      bool
	OMEMOSet   bool
	Trust      string
	Retries    int
	RetriesSet bool
}

// Reconnection attempts in a row after a lost connection, by default: a
// one-shot message tries one new connection (issue 14); a --lines stream
// (tail -f | xmppctl send --lines, for days) rides out a server restart.
const (
	sendRetries      = 1
	sendLinesRetries = 10
)

// newSendCmd builds the send command; runF (nil: runSend) receives the
// parsed and checked options, so tests can check flag parsing without
// running the command.
func newSendCmd(f *Factory, runF func(context.Context, *sendOptions) error) *cobra.Command {
	if runF == nil {
		runF = runSend
	}
	opts := &sendOptions{f: f}
	c := &cobra.Command{
		Use:   "send [flags] JID... [-m TEXT]",
		Short: "Send a message to contacts or rooms",
		Long: `Send one message (the text of -m, else all of standard input) to every JID.
With --lines every non-empty line of standard input is its own message; lines
are sent as they arrive, without waiting for a round trip each.

xmppctl exits 0 only after the server acknowledged every message, and with
--receipt only after every recipient's client confirmed receipt (XEP-0184).
A recipient whose message bounced with an error fails; if others succeeded
the exit status is 3.

With --omemo (or omemo = true in the config) every message is end-to-end
encrypted (OMEMO, XEP-0384) to each trusted device of the recipient and to
the account's other devices. A recipient without a usable trusted device
fails (exit 5, or 3 when others succeeded) and gets nothing: never clear
text. In rooms (--muc) OMEMO needs a non-anonymous, members-only room; the
message is encrypted to the devices of every member. See xmppctl omemo.

A lost connection is reconnected (--retries attempts in a row, with backoff)
and every message the server had not acknowledged is sent again with the same
id and origin-id. With --lines --json every line gets an object whose status
is sent (acknowledged), failed (never sent, or too long: over 1 MiB or refused
by the server) or unknown (written, then the connection was lost before the
acknowledgement and the retries ran out); the exit status is 0 only if every
line was sent, 3 if some were.`,
		Example: `  echo "backup done" | xmppctl send admin@example.org
  xmppctl send -m "deploy $CI_COMMIT_SHORT_SHA ok" --muc ops@conference.example.org
  tail -f app.log | grep --line-buffered ERROR | xmppctl send --lines oncall@example.org
  xmppctl send --receipt -m "are you there?" bob@example.org/phone
  xmppctl send --omemo -m "backup of db1 failed" admin@example.org`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("send needs at least one recipient JID")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Recipients = args
			opts.MessageSet = c.Flags().Changed("message")
			opts.OMEMOSet = c.Flags().Changed("omemo")
			opts.RetriesSet = c.Flags().Changed("retries")
			if err := opts.validate(); err != nil {
				return err
			}
			return runF(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Message, "message", "m", "", "message text (default: read standard input)")
	fl.BoolVar(&opts.Lines, "lines", false, "one message per non-empty line of standard input")
	fl.BoolVar(&opts.MUC, "muc", false, "recipients are group chats (XEP-0045) to join and write to")
	fl.StringVar(&opts.Nick, "nick", "", "nickname in rooms (default: the account's local part)")
	fl.StringVar(&opts.Subject, "subject", "", "message subject")
	fl.StringVar(&opts.Type, "type", "chat", "message type: chat, normal or headline")
	fl.StringVar(&opts.OOB, "oob", "", "attach this URL (jabber:x:oob); the URL is also the body")
	fl.BoolVar(&opts.Receipt, "receipt", false, "request delivery receipts and wait for them (up to --timeout)")
	fl.BoolVar(&opts.OMEMO, "omemo", false, "encrypt end to end with OMEMO (XEP-0384); a recipient without a trusted device fails, never gets clear text (config: omemo = true)")
	fl.StringVar(&opts.Trust, "trust", "", "OMEMO trust policy for new devices: btbv (blind trust before verification) or manual (config: omemo_trust)")
	fl.IntVar(&opts.Retries, "retries", sendRetries,
		fmt.Sprintf("reconnection attempts in a row after a lost connection (with --lines: %d)", sendLinesRetries))
	return c
}

// validate checks the flags against each other, before anything else.
func (opts *sendOptions) validate() error {
	switch stanza.MessageType(opts.Type) {
	case stanza.ChatMessage, stanza.NormalMessage, stanza.HeadlineMessage:
	default:
		return usageErrorf("invalid --type %q: want chat, normal or headline", opts.Type)
	}
	if opts.Lines && opts.MessageSet {
		return usageErrorf("--lines reads standard input; it cannot be combined with -m")
	}
	if opts.OOB != "" && (opts.MessageSet || opts.Lines) {
		return usageErrorf("--oob sends the URL as the body; it cannot be combined with -m or --lines")
	}
	if opts.Receipt && opts.MUC {
		return usageErrorf("--receipt does not apply to rooms")
	}
	if opts.Retries < 0 {
		return usageErrorf("--retries must not be negative")
	}
	if opts.Lines && !opts.RetriesSet {
		opts.Retries = sendLinesRetries
	}
	return nil
}

func runSend(ctx context.Context, opts *sendOptions) error {
	f := opts.f
	recipients, err := parseJIDs(opts.Recipients, opts.MUC)
	if err != nil {
		return err
	}
	acct, err := f.Account()
	if err != nil {
		return err
	}
	if !opts.OMEMOSet {
		opts.OMEMO = acct.OMEMO
	}
	var policy omemo.Policy
	if opts.OMEMO {
		if policy, err = omemoPolicy(acct, opts.Trust); err != nil {
			return err
		}
		switch {
		case opts.Subject != "":
			return usageErrorf("--subject would travel in clear with --omemo: leave it out")
		case opts.OOB != "":
			return usageErrorf("--oob sends the URL in clear; with --omemo put the URL in the message")
		}
	}
	content := outbox.Content{Type: stanza.MessageType(opts.Type), Subject: opts.Subject}
	if opts.MUC {
		content.Type = stanza.GroupChatMessage
	}
	switch {
	case opts.OOB != "":
		content.Body, content.OOB = opts.OOB, opts.OOB
	case opts.MessageSet:
		content.Body = opts.Message
	case !opts.Lines:
		if f.IO.InTTY {
			fmt.Fprintln(f.IO.ErrOut, "xmppctl: reading the message from standard input (end with Ctrl-D)")
		}
		b, err := io.ReadAll(f.IO.In)
		if err != nil {
			return usageErrorf("read standard input: %v", err)
		}
		content.Body = strings.TrimRight(string(b), "\n")
	}
	if !opts.Lines && strings.TrimSpace(content.Body) == "" && content.Subject == "" {
		return usageErrorf("empty message: give -m TEXT or text on standard input")
	}

	dial := f.Redial(acct, false)
	s, err := dial(ctx)
	if err != nil {
		return err
	}

	nick := roomNick(opts.Nick, acct.Nick, acct.JID)
	report := newSendReport(ctx, f, archive.Self{Account: acct.JID, Nick: nick}, s.JID())
	defer report.close(ctx)
	ob := outbox.New(s, opts.Receipt)
	defer func() { ob.Session().Close() }() // the last session, after reconnections
	ob.BatchSize, ob.BatchTimeout = 200, f.Global.Timeout
	// The outbox settles results inside Send and Finish, which run on ctx.
	ob.OnSettled = func(res outbox.Result) { report.settled(ctx, res) }
	if opts.OMEMO {
		closeOMEMO, err := (&omemoSealer{f: f, acct: acct, policy: policy}).attach(ctx, ob)
		if err != nil {
			return err
		}
		defer closeOMEMO()
	}
	targets := recipients
	var joinErrs []error
	if opts.MUC {
		targets, joinErrs = joinRooms(ctx, f, s, recipients, nick, acct.RoomPassword)
	}
	ob.Reconnect = &outbox.Reconnect{
		Dial: dial, Retries: opts.Retries, CheckArchive: !opts.MUC,
		OnLost: func(err error, n int) {
			f.Warnf("%v; reconnecting (attempt %d of %d)", err, n, opts.Retries)
		},
	}
	if opts.MUC {
		joined := targets
		ob.Reconnect.Setup = func(ctx context.Context, s conn.Session) error {
			_, errs := joinRooms(ctx, f, s, joined, nick, acct.RoomPassword)
			return errors.Join(errs...)
		}
	}
	if opts.Lines {
		if err := sendLines(ctx, f, ob, targets, content, report); err != nil {
			return report.outcomeWith(err)
		}
	} else {
		for _, to := range targets {
			if _, err := ob.Send(ctx, to, content); err != nil {
				return err
			}
		}
	}
	// One deadline for the whole ending: --timeout bounds the
	// acknowledgement and the receipts together.
	fctx, cancel := f.WithTimeout(ctx)
	defer cancel()
	_, err = ob.Finish(fctx)
	if err == nil {
		_, err = ob.WaitReceipts(fctx)
	}
	if err != nil {
		if opts.Lines {
			return report.outcomeWith(err)
		}
		return err
	}
	if opts.Lines {
		return report.linesOutcome(joinErrs)
	}
	return report.outcome(joinErrs, len(recipients))
}

// sendLines sends each non-empty line as it arrives; a line over 1 MiB is
// reported failed and skipped.
func sendLines(ctx context.Context, f *Factory, ob *outbox.Outbox, targets []string, content outbox.Content, report *sendReport) error {
	err := outbox.Lines(f.IO.In, outbox.MaxLine, func(line string, tooLong error) error {
		if tooLong != nil {
			for _, to := range targets {
				report.settled(ctx, outbox.Result{To: to, Status: outbox.StatusFailed, Err: tooLong, ErrorText: tooLong.Error()})
			}
			return nil
		}
		c := content
		c.Body = line
		for _, to := range targets {
			if _, err := ob.Send(ctx, to, c); err != nil {
				return err
			}
		}
		return nil
	})
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("read standard input: %w", err)
	}
	return err
}

// sendReport receives each result as the outbox settles it: it prints it
// (JSON Lines with --json, a line with -v), remembers the first failure per
// recipient for the exit status, and records what was sent in the local
// archive so that the copy coming back from the server archive is matched,
// not stored twice. It never holds more than one batch of messages.
type sendReport struct {
	f        *Factory
	enc      *json.Encoder
	failures []error
	failed   map[string]bool
	rec      *sentRecorder

	// With --lines the outcome counts messages, not recipients.
	total, notSent int   // messages settled, and those not sent
	firstNotSent   error // the first failure or unknown, for the exit status
}

func newSendReport(ctx context.Context, f *Factory, self archive.Self, full string) *sendReport {
	r := &sendReport{f: f, failed: map[string]bool{}, rec: openSentRecorder(ctx, f, self, full)}
	if f.Global.JSON {
		r.enc = json.NewEncoder(f.IO.Out)
	}
	return r
}

func (r *sendReport) settled(ctx context.Context, res outbox.Result) {
	if r.enc != nil {
		_ = r.enc.Encode(res)
	}
	r.total++
	if res.Status == outbox.StatusFailed || res.Status == outbox.StatusUnknown {
		r.notSent++
		if r.firstNotSent == nil {
			r.firstNotSent = fmt.Errorf("%s: %s", res.To, res.ErrorText)
		}
	}
	if res.Status == outbox.StatusUnknown {
		return
	}
	if res.Status == outbox.StatusFailed {
		if !r.failed[res.To] {
			r.failed[res.To] = true
			r.failures = append(r.failures, fmt.Errorf("%s: %w", res.To, res.Err))
		}
		return
	}
	if r.f.verbose() { // once per line with --lines
		r.f.Infof("%s %s (id %s)", res.Status, res.To, res.ID)
	}
	r.rec.add(ctx, res.Message, res.Encrypted)
}

func (r *sendReport) close(ctx context.Context) { r.rec.close(ctx) }

// outcomeWith is the outcome of a --lines run that ended with err (the
// connection lost for good, or standard input unreadable): every message
// settled has been reported; the error says how many were not sent.
func (r *sendReport) outcomeWith(err error) error {
	if r.notSent == 0 || r.notSent == r.total {
		return err
	}
	return &PartialError{Failed: r.notSent, Total: r.total, First: err}
}

// linesOutcome is the outcome of a --lines run that read all its input.
func (r *sendReport) linesOutcome(joinErrs []error) error {
	if len(joinErrs) > 0 {
		return r.outcome(joinErrs, len(joinErrs)+1)
	}
	if r.notSent == 0 {
		return nil
	}
	if r.notSent < r.total {
		printFailure(r.f.IO.ErrOut, r.firstNotSent)
	}
	return &PartialError{Failed: r.notSent, Total: r.total, First: r.firstNotSent}
}

// outcome turns the failures into the command's error. With one failure
// among one recipient the error itself is the report; with several, each
// failure gets its line and the error summarises.
func (r *sendReport) outcome(joinErrs []error, recipients int) error {
	failures := append(append([]error(nil), joinErrs...), r.failures...)
	return reportOutcome(r.f.IO.ErrOut, recipients, failures)
}

// sentRecorder writes sent messages to the local archive, but only when
// the user keeps one (the store file exists): a plain notification sender
// should not pay for opening a database.
type sentRecorder struct {
	f       *Factory
	st      *store.Store
	self    archive.Self
	full    string
	pending []stanza.Message
	enc     string // the encryption of the pending messages
}

func openSentRecorder(ctx context.Context, f *Factory, self archive.Self, full string) *sentRecorder {
	r := &sentRecorder{f: f, self: self, full: full}
	if _, err := os.Stat(filepath.Join(f.DataDir(), store.FileName)); err != nil {
		return r
	}
	st, err := store.Open(ctx, f.DataDir())
	if err != nil {
		f.Warnf("local archive not updated: %v", err)
		return r
	}
	r.st = st
	return r
}

func (r *sentRecorder) add(ctx context.Context, m stanza.Message, encryption string) {
	if r.st == nil {
		return
	}
	if encryption != r.enc {
		r.flush(ctx)
		r.enc = encryption
	}
	r.pending = append(r.pending, m)
	if len(r.pending) >= 200 {
		r.flush(ctx)
	}
}

func (r *sentRecorder) flush(ctx context.Context) {
	if len(r.pending) == 0 {
		return
	}
	if err := archive.SentEncrypted(ctx, r.st, r.self, r.full, time.Now(), r.enc, r.pending...); err != nil {
		r.f.Warnf("local archive not updated: %v", err)
	}
	r.pending = r.pending[:0]
}

func (r *sentRecorder) close(ctx context.Context) {
	if r.st == nil {
		return
	}
	r.flush(ctx)
	r.st.Close()
}
