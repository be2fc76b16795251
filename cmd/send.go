package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/outbox"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
	"github.com/xmppctl/xmppctl/pkg/term"
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
}

func newSendCmd(f *Factory) *cobra.Command {
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
message is encrypted to the devices of every member. See xmppctl omemo.`,
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
			return runSend(c.Context(), opts)
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
	return c
}

func runSend(ctx context.Context, opts *sendOptions) error {
	f := opts.f
	switch opts.Type {
	case "chat", "normal", "headline":
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
	content := outbox.Content{Type: opts.Type, Subject: opts.Subject}
	if opts.MUC {
		content.Type = "groupchat"
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

	s, err := f.Connect(ctx, acct, false)
	if err != nil {
		return err
	}
	defer s.Close()

	report := newSendReport(ctx, f, acct.JID, s.JID())
	defer report.close()
	ob := outbox.New(s, opts.Receipt)
	ob.BatchSize, ob.BatchTimeout = 200, f.Global.Timeout
	ob.OnSettled = report.settled
	if opts.OMEMO {
		oc, closeOMEMO, err := openOMEMO(ctx, f, acct, policy)
		if err != nil {
			return err
		}
		defer closeOMEMO()
		ob.Encryption = omemo.NS
		rooms := newOMEMORooms(f, s)
		ob.Seal = func(ctx context.Context, to string, m *stanza.Message) error {
			if m.Type == "groupchat" {
				members, err := rooms.members(ctx, to)
				if err != nil {
					return err
				}
				if err := oc.SealGroup(ctx, s, m, members); err != nil {
					return err
				}
				ob.Encryption = omemo.SealedWith(m)
				return nil
			}
			if err := oc.SealMessage(ctx, s, m); err != nil {
				return err
			}
			ob.Encryption = omemo.SealedWith(m)
			return nil
		}
	}
	targets := recipients
	var joinErrs []error
	if opts.MUC {
		targets, joinErrs = joinRooms(ctx, f, s, recipients, roomNick(opts.Nick, acct.Nick, acct.JID), acct.RoomPassword)
	}
	if opts.Lines {
		if err := sendLines(ctx, f, ob, targets, content); err != nil {
			return err
		}
	} else {
		for _, to := range targets {
			if _, err := ob.Send(ctx, to, content); err != nil {
				return err
			}
		}
	}
	fctx, cancel := f.WithTimeout(ctx)
	defer cancel()
	rctx, rcancel := f.WithTimeout(ctx)
	defer rcancel()
	if _, err := ob.Finish(fctx, rctx); err != nil {
		return err
	}
	return report.outcome(joinErrs, len(recipients))
}

// sendLines sends each non-empty line as it arrives.
func sendLines(ctx context.Context, f *Factory, ob *outbox.Outbox, targets []string, content outbox.Content) error {
	sc := bufio.NewScanner(f.IO.In)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		c := content
		c.Body = line
		for _, to := range targets {
			if _, err := ob.Send(ctx, to, c); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	return nil
}

// sendReport receives each result as the outbox settles it: it prints it
// (JSON Lines with --json, a line with -v), remembers the first failure per
// recipient for the exit status, and records what was sent in the local
// archive so that the copy coming back from the server archive is matched,
// not stored twice. It never holds more than one batch of messages.
type sendReport struct {
	ctx      context.Context
	f        *Factory
	enc      *json.Encoder
	failures []error
	failed   map[string]bool
	rec      *sentRecorder
}

func newSendReport(ctx context.Context, f *Factory, account, full string) *sendReport {
	r := &sendReport{ctx: ctx, f: f, failed: map[string]bool{}, rec: openSentRecorder(ctx, f, account, full)}
	if f.Global.JSON {
		r.enc = json.NewEncoder(f.IO.Out)
	}
	return r
}

func (r *sendReport) settled(res outbox.Result) {
	if r.enc != nil {
		_ = r.enc.Encode(res)
	}
	if res.Status == "failed" {
		if !r.failed[res.To] {
			r.failed[res.To] = true
			r.failures = append(r.failures, fmt.Errorf("%s: %w", res.To, res.Err))
		}
		return
	}
	r.f.Infof("%s %s (id %s)", res.Status, res.To, res.ID)
	r.rec.add(res.Message, res.Encrypted)
}

func (r *sendReport) close() { r.rec.close() }

// outcome turns the failures into the command's error. With one failure
// among one recipient the error itself is the report; with several, each
// failure gets its line and the error summarises.
func (r *sendReport) outcome(joinErrs []error, recipients int) error {
	failures := append(append([]error(nil), joinErrs...), r.failures...)
	switch {
	case len(failures) == 0:
		return nil
	case len(failures) == 1 && recipients == 1:
		return failures[0]
	}
	for _, e := range failures {
		fmt.Fprintln(r.f.IO.ErrOut, "xmppctl: "+term.Sanitize(e.Error(), false))
	}
	return &PartialError{Failed: len(failures), Total: recipients, First: failures[0]}
}

// sentRecorder writes sent messages to the local archive, but only when
// the user keeps one (the store file exists): a plain notification sender
// should not pay for opening a database.
type sentRecorder struct {
	ctx     context.Context
	f       *Factory
	st      *store.Store
	self    archive.Self
	full    string
	pending []stanza.Message
	enc     string // the encryption of the pending messages
}

func openSentRecorder(ctx context.Context, f *Factory, account, full string) *sentRecorder {
	r := &sentRecorder{ctx: ctx, f: f, self: archive.Self{Account: account}, full: full}
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

func (r *sentRecorder) add(m stanza.Message, encryption string) {
	if r.st == nil {
		return
	}
	if encryption != r.enc {
		r.flush()
		r.enc = encryption
	}
	r.pending = append(r.pending, m)
	if len(r.pending) >= 200 {
		r.flush()
	}
}

func (r *sentRecorder) flush() {
	if len(r.pending) == 0 {
		return
	}
	if err := archive.SentEncrypted(r.ctx, r.st, r.self, r.full, time.Now(), r.enc, r.pending...); err != nil {
		r.f.Warnf("local archive not updated: %v", err)
	}
	r.pending = r.pending[:0]
}

func (r *sentRecorder) close() {
	if r.st == nil {
		return
	}
	r.flush()
	r.st.Close()
}
