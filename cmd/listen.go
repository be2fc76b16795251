package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/listen"
	"github.com/xmppctl/xmppctl/pkg/markers"
	"github.com/xmppctl/xmppctl/pkg/online"
	"github.com/xmppctl/xmppctl/pkg/receipts"
	"github.com/xmppctl/xmppctl/pkg/store"
	"github.com/xmppctl/xmppctl/pkg/styling"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type listenOptions struct {
	f *Factory

	Exec        string
	From        []string
	Inactive    bool
	QuietPeriod time.Duration
	Nick        string
}

func newListenCmd(f *Factory) *cobra.Command {
	opts := &listenOptions{f: f}
	c := &cobra.Command{
		Use:   "listen [--json] [--exec CMD] [--from JID]...",
		Short: "Stay online and print (or act on) messages as they arrive",
		Long: `Stay online and print every message that arrives, including copies of what your
other devices send and receive (XEP-0280 carbons), and store each in the local
archive. A message is printed once, even if it arrives several ways.

Delivery receipts (XEP-0184) and "received" chat markers (XEP-0333) are sent
when the sender asks for them. A reply or a "displayed" marker sent from
another of your devices marks that chat as read.

With --exec, CMD runs (through sh -c) once per incoming message, one at a time
in arrival order, with the message text on standard input and these variables
set: XMPP_FROM, XMPP_TO, XMPP_WITH, XMPP_ID (archive id), XMPP_MESSAGE_ID,
XMPP_TYPE, XMPP_DIRECTION, XMPP_TIMESTAMP, XMPP_OOB_URL, XMPP_SUBJECT. CMD is
not run for a chat in which another of your devices was active (sent a message
or a marker) within --quiet-period: you are already looking at it.

When the connection drops, xmppctl reconnects with backoff and fetches what
arrived meanwhile from the server's archive (XEP-0313). Ctrl-C exits (130).`,
		Example: `  xmppctl listen
  xmppctl listen --json | jq -r 'select(.direction=="in") | .body'
  xmppctl listen --from boss@example.org --exec 'notify-send "$XMPP_FROM" "$(cat)"'
  xmppctl listen --inactive --exec ./on-message.sh`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runListen(c.Context(), opts) },
	}
	fl := c.Flags()
	fl.StringVar(&opts.Exec, "exec", "", "run this shell command for each incoming message")
	fl.StringArrayVar(&opts.From, "from", nil, "only report messages from this JID (repeatable; all are still stored)")
	fl.BoolVar(&opts.Inactive, "inactive", false, "tell the server this is a background client (XEP-0352 CSI)")
	fl.DurationVar(&opts.QuietPeriod, "quiet-period", time.Minute, "no --exec for a chat while another device of yours was active in it this recently")
	fl.StringVar(&opts.Nick, "nick", "", "your nickname in rooms, to tell your own room messages")
	return c
}

func runListen(ctx context.Context, opts *listenOptions) error {
	f := opts.f
	from, err := parseJIDs(opts.From, false)
	if err != nil {
		return err
	}
	if opts.QuietPeriod < 0 {
		return usageErrorf("invalid --quiet-period %s: want 0 or more", opts.QuietPeriod)
	}
	acct, err := f.Account()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	resp, err := online.New(online.Options{Bot: true,
		Features: []string{receipts.NS, markers.NS, styling.NS}})
	if err != nil {
		return err
	}
	out := &listenPrinter{p: newMessagePrinter(f)}
	var runner *execRunner
	if opts.Exec != "" {
		runner = newExecRunner(ctx, f, opts.Exec)
		defer runner.close()
	}
	l := listen.New(listen.Options{
		Self:        archive.Self{Account: store.Bare(acct.JID), Nick: firstNonEmpty(opts.Nick, acct.Nick, strings.SplitN(acct.JID, "@", 2)[0])},
		Store:       st,
		From:        from,
		QuietPeriod: opts.QuietPeriod,
		Inactive:    opts.Inactive,
		Timeout:     f.Global.Timeout,
		Online: func(ctx context.Context, s conn.Session) error {
			resp.Register(s)
			return resp.Announce(ctx, s)
		},
		OnEvent: func(ev listen.Event) {
			if !hasContent(ev.Message) {
				return
			}
			out.print(ev)
			if runner != nil && ev.Notify {
				runner.enqueue(ev.Message)
			}
		},
		Warn: func(format string, args ...any) { f.Warnf("%s", term.Sanitize(fmt.Sprintf(format, args...), false)) },
	})
	dial := func(ctx context.Context) (conn.Session, error) {
		// No stream management: a session Prosody hibernates after a
		// drop would hold messages we never resume; reconnecting and
		// catching up through the archive loses nothing.
		s, err := f.Connect(ctx, acct, true)
		if err != nil {
			return nil, err
		}
		if !f.Global.Quiet && (f.IO.ErrTTY || f.Global.Verbose) {
			fmt.Fprintf(f.IO.ErrOut, "xmppctl: listening as %s (Ctrl-C to stop)\n", term.Sanitize(s.JID(), false))
		}
		return s, nil
	}
	return l.Run(ctx, dial)
}

func hasContent(m *store.Message) bool {
	return m.Body != "" || m.Subject != "" || m.OOB != ""
}

// listenPrinter writes events as they come; the mutex keeps lines whole.
type listenPrinter struct {
	mu sync.Mutex
	p  *messagePrinter
}

func (lp *listenPrinter) print(ev listen.Event) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	_ = lp.p.print(ev.Message)
}

// execRunner runs --exec commands one at a time, in order, off the
// receive path.
type execRunner struct {
	f     *Factory
	cmd   string
	ctx   context.Context
	queue chan *store.Message
	done  chan struct{}
}

func newExecRunner(ctx context.Context, f *Factory, cmd string) *execRunner {
	r := &execRunner{f: f, cmd: cmd, ctx: ctx, queue: make(chan *store.Message, 4096), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *execRunner) enqueue(m *store.Message) {
	select {
	case r.queue <- m:
	case <-r.ctx.Done():
	}
}

func (r *execRunner) close() {
	close(r.queue)
	<-r.done
}

func (r *execRunner) loop() {
	defer close(r.done)
	for m := range r.queue {
		if r.ctx.Err() != nil {
			continue
		}
		r.run(m)
	}
}

func (r *execRunner) run(m *store.Message) {
	c := exec.CommandContext(r.ctx, "/bin/sh", "-c", r.cmd)
	// The command handles remote content: it gets no secret (issue 14).
	c.Env = append(config.ChildEnv(os.Environ()),
		"XMPP_FROM="+m.From, "XMPP_TO="+m.To, "XMPP_WITH="+m.With, "XMPP_ID="+m.StanzaID,
		"XMPP_MESSAGE_ID="+m.MsgID, "XMPP_TYPE="+m.Type, "XMPP_DIRECTION="+m.Direction,
		"XMPP_TIMESTAMP="+m.Time.UTC().Format(time.RFC3339), "XMPP_OOB_URL="+m.OOB, "XMPP_SUBJECT="+envSafe(m.Subject))
	c.Stdin = bytes.NewReader([]byte(m.Body))
	c.Stdout, c.Stderr = r.f.IO.Out, r.f.IO.ErrOut
	if err := c.Run(); err != nil && r.ctx.Err() == nil {
		r.f.Warnf("--exec for the message from %s: %v", term.Sanitize(m.From, false), err)
	}
}

// envSafe drops NUL bytes, which an environment variable cannot hold.
func envSafe(s string) string { return strings.ReplaceAll(s, "\x00", "") }
