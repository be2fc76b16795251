package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/bookmarks"
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
	Rooms       []string
	Bookmarks   bool
	Mentions    bool
	RoomPing    time.Duration

	ApproveFrom   []string
	ApproveRoster bool
	Keepalive     time.Duration
	Retries       int
}

// listen's defaults: a ping after 90 s of silence notices a frozen
// connection within 3 min; 30 failed reconnections in a row (backoff
// capped at 1 min) ride out a server down for about 25 min.
const (
	listenKeepalive = 90 * time.Second
	listenRetries   = 30
)

func newListenCmd(f *Factory) *cobra.Command {
	opts := &listenOptions{f: f}
	c := &cobra.Command{
		Use:   "listen [--json] [--exec CMD] [--from JID]... [--muc ROOM]... [--bookmarks] [--mentions]",
		Short: "Stay online and print (or act on) messages as they arrive",
		Long: `Stay online and print every message that arrives, including copies of what your
other devices send and receive (XEP-0280 carbons), and store each in the local
archive. A message is printed once, even if it arrives several ways.

Delivery receipts (XEP-0184) and "received" chat markers (XEP-0333) are sent
when the sender asks for them. A reply or a "displayed" marker sent from
another of your devices marks that chat as read.

With --exec, CMD runs (through sh -c) once per incoming message, one at a time
in arrival order, with the message text on standard input and these variables
set: XMPP_EVENT=message, XMPP_FROM, XMPP_TO, XMPP_WITH, XMPP_ID (archive id), XMPP_MESSAGE_ID,
XMPP_TYPE, XMPP_DIRECTION, XMPP_TIMESTAMP, XMPP_OOB_URL, XMPP_SUBJECT, and for
OMEMO messages XMPP_ENCRYPTED (the namespace), XMPP_SENDER_FINGERPRINT,
XMPP_TRUST and, when it could not be decrypted, XMPP_DECRYPT_ERROR. CMD is
not run for a chat in which another of your devices was active (sent a message
or a marker) within --quiet-period: you are already looking at it.

Presence subscription requests (someone asking to see your presence; the
server also re-delivers pending ones at login) are reported once each: a line
on stderr, with --json an object {"event":"subscription-request","from",
"status","approved"} on stdout, with --exec a run of CMD with XMPP_EVENT=
subscription-request, XMPP_FROM, XMPP_APPROVED (1 or 0) and the request's
text on standard input (messages run CMD with XMPP_EVENT=message). They are
approved only from the JIDs given with --approve-from, and with
--approve-roster from contacts already in your roster; others stay pending
("xmppctl roster requests", "roster approve", "roster deny").

When the connection drops, xmppctl reconnects with backoff (--retries failed
attempts in a row at most) and fetches what arrived meanwhile from the
server's archive (XEP-0313). After --keepalive without a stanza it pings the
server (XEP-0199); no answer within --keepalive more means the connection is
dead (a frozen route or NAT never says so), and it reconnects: a frozen
connection is noticed within twice --keepalive. Ctrl-C exits (130).

Rooms (XEP-0045): --muc ROOM (repeatable) and --bookmarks (the rooms whose
XEP-0402 bookmark has autojoin) join those rooms as --nick (default: the
config's nick, else the account's local part; a bookmark's own nick when
--nick is not given), asking for no history. Instead, each room's archive
(XEP-0313 on the room) is read from the newest message stored for it, so a
restarted listen misses nothing and repeats nothing. Room messages are
printed, stored and passed to --exec like direct ones, with the fields room,
nick, occupant_id (XEP-0421, when the room gives one) and real_jid (when the
room shows it); --exec also gets XMPP_ROOM, XMPP_NICK, XMPP_OCCUPANT_ID and
XMPP_REAL_JID. With --mentions only room messages that mention the nick are
passed on (all are stored). Your own room messages are printed but not
passed to --exec.

Every --room-ping, each room is pinged through our own occupant JID
(XEP-0410): a room that silently dropped us is joined again, with backoff.
A kick, a ban, a destroyed room or a members-only room we are no longer a
member of is reported on stderr and ends that room; the other rooms stay.
When no room is left, listen exits with status 5.`,
		Example: `  xmppctl listen
  xmppctl listen --json | jq -r 'select(.direction=="in") | .body'
  xmppctl listen --from boss@example.org --exec 'notify-send "$XMPP_FROM" "$(cat)"'
  xmppctl listen --inactive --exec ./on-message.sh`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runListen(c.Context(), opts) },
	}
	fl := c.Flags()
	fl.StringVar(&opts.Exec, "exec", "", "run this shell command for each incoming message")
	fl.StringArrayVar(&opts.From, "from", nil, "only report messages from this JID (repeatable; all are still stored)")
	fl.BoolVar(&opts.Inactive, "inactive", false, "tell the server this is a background client (XEP-0352 CSI)")
	fl.DurationVar(&opts.QuietPeriod, "quiet-period", time.Minute, "no --exec for a chat while another device of yours was active in it this recently")
	fl.StringVar(&opts.Nick, "nick", "", "your nickname in rooms (default: config nick, else the account's local part)")
	fl.StringArrayVar(&opts.Rooms, "muc", nil, "join this room and listen there (repeatable)")
	fl.BoolVar(&opts.Bookmarks, "bookmarks", false, "join the rooms whose bookmark (XEP-0402) has autojoin")
	fl.BoolVar(&opts.Mentions, "mentions", false, "pass on only room messages that mention your nick")
	fl.DurationVar(&opts.RoomPing, "room-ping", listen.DefaultPingInterval, "check this often that each room still has us (XEP-0410 self-ping)")
	fl.StringArrayVar(&opts.ApproveFrom, "approve-from", nil, "approve presence subscription requests from this JID (repeatable)")
	fl.BoolVar(&opts.ApproveRoster, "approve-roster", false, "approve presence subscription requests from contacts already in the roster")
	fl.DurationVar(&opts.Keepalive, "keepalive", listenKeepalive, "ping the server after this long without traffic; no answer within as long again: reconnect (0: off)")
	fl.IntVar(&opts.Retries, "retries", listenRetries, "failed reconnection attempts in a row before giving up (0: no limit)")
	return c
}

func runListen(ctx context.Context, opts *listenOptions) error {
	f := opts.f
	from, err := parseJIDs(opts.From, false)
	if err != nil {
		return err
	}
	approveFrom, err := parseJIDs(opts.ApproveFrom, false)
	if err != nil {
		return err
	}
	for i, j := range approveFrom {
		approveFrom[i] = store.Bare(j)
	}
	if opts.QuietPeriod < 0 {
		return usageErrorf("invalid --quiet-period %s: want 0 or more", opts.QuietPeriod)
	}
	roomJIDs, err := parseJIDs(opts.Rooms, true)
	if err != nil {
		return err
	}
	if opts.RoomPing <= 0 {
		return usageErrorf("invalid --room-ping %s: want more than 0", opts.RoomPing)
	}
	if opts.Mentions && len(roomJIDs) == 0 && !opts.Bookmarks {
		return usageErrorf("--mentions applies to rooms: give --muc ROOM or --bookmarks")
	}
	if opts.Keepalive < 0 {
		return usageErrorf("invalid --keepalive %s: want 0 (off) or more", opts.Keepalive)
	}
	if opts.Retries < 0 {
		return usageErrorf("--retries must not be negative")
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
	decrypt, publishOMEMO, err := omemoDecrypter(ctx, f, st, acct)
	if err != nil {
		return err
	}
	resp, err := online.New(online.Options{Bot: true,
		Features: []string{receipts.NS, markers.NS, styling.NS}})
	if err != nil {
		return err
	}
	nick := roomNick(opts.Nick, acct.Nick, acct.JID)
	var first conn.Session
	var rooms []listen.Room
	for _, r := range roomJIDs {
		rooms = append(rooms, listen.Room{JID: r, Nick: nick, Password: acct.RoomPassword})
	}
	// In rooms the presence watcher keeps the status codes of our own
	// unavailable presence (why a room removed us), which go-xmpp drops.
	var connOpts []ConnectOption
	if len(rooms) > 0 || opts.Bookmarks {
		connOpts = append(connOpts, watchPresence)
	}
	if opts.Bookmarks {
		// The bookmarks decide the rooms: read them on the first session,
		// which the listener then uses.
		first, err = f.Connect(ctx, acct, true, connOpts...)
		if err != nil {
			return err
		}
		bctx, cancel := f.WithTimeout(ctx)
		bms, err := bookmarks.List(bctx, first)
		cancel()
		if err != nil {
			first.Close()
			return err
		}
		rooms = append(rooms, autojoinRooms(bms, rooms, opts.Nick, nick)...)
		if len(rooms) == 0 {
			f.Warnf("no bookmark has autojoin set: listening for direct messages only")
		}
	}
	out := &listenPrinter{p: newMessagePrinter(f)}
	var runner *execRunner
	if opts.Exec != "" {
		runner = startExecRunner(ctx, f, opts.Exec)
		defer runner.close()
	}
	l := listen.New(listen.Options{
		Self:         archive.Self{Account: store.Bare(acct.JID), Nick: nick},
		Rooms:        rooms,
		Mentions:     opts.Mentions,
		PingInterval: opts.RoomPing,
		Store:        st,
		From:         from,
		QuietPeriod:  opts.QuietPeriod,
		Inactive:     opts.Inactive,
		Timeout:      f.Global.Timeout,
		Decrypt:      decrypt,
		Settle:       archive.DefaultSettle,
		Keepalive:    opts.Keepalive,
		Retries:      opts.Retries,
		Online: func(ctx context.Context, s conn.Session) error {
			resp.Register(s)
			if err := publishOMEMO(ctx, s); err != nil {
				return err
			}
			return resp.Announce(ctx, s)
		},
		// Said once the server has the session's presence and carbons:
		// from then on nothing sent to us is missed.
		Ready: func(s conn.Session) {
			if !f.Global.Quiet && (f.IO.ErrTTY || f.Global.Verbose) {
				fmt.Fprintf(f.IO.ErrOut, "xmppctl: listening as %s (Ctrl-C to stop)\n", term.Sanitize(s.JID(), false))
			}
		},
		OnEvent: func(ev listen.Event) {
			if !hasContent(ev.Message) {
				return
			}
			out.print(ev)
			if runner != nil && ev.Notify {
				runner.enqueue(ctx, ev)
			}
		},
		Warn:     func(format string, args ...any) { f.Warnf("%s", term.Sanitize(fmt.Sprintf(format, args...), false)) },
		OnJoined: func(room, nick string) { f.Infof("joined %s as %s", room, term.Sanitize(nick, false)) },
		Subscriptions: listen.Subscriptions{ApproveFrom: approveFrom, ApproveRoster: opts.ApproveRoster,
			OnRequest: func(ev listen.SubscriptionEvent) {
				out.request(f, ev)
				if runner != nil {
					runner.enqueueRequest(ctx, ev)
				}
			}},
	})
	dial := func(ctx context.Context) (conn.Session, error) {
		// No stream management: a session Prosody hibernates after a
		// drop would hold messages we never resume; reconnecting and
		// catching up through the archive loses nothing.
		s := first
		first = nil
		if s == nil {
			var err error
			if s, err = f.Connect(ctx, acct, true, connOpts...); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	err = l.Run(ctx, dial)
	var gone *listen.RoomsEndedError
	if errors.As(err, &gone) {
		return &RemoteError{Err: err}
	}
	return err
}

// autojoinRooms are the bookmarked rooms with autojoin not already given
// with --muc; a bookmark's nick applies unless --nick was given.
func autojoinRooms(bms []bookmarks.Bookmark, given []listen.Room, flagNick, nick string) []listen.Room {
	var out []listen.Room
next:
	for _, b := range bms {
		if !b.Autojoin {
			continue
		}
		for _, g := range given {
			if strings.EqualFold(g.JID, b.Room) {
				continue next
			}
		}
		n := nick
		if flagNick == "" && b.Nick != "" {
			n = b.Nick
		}
		out = append(out, listen.Room{JID: b.Room, Nick: n, Password: b.Password})
	}
	return out
}

func hasContent(m *store.Message) bool {
	return m.Body != "" || m.Subject != "" || m.OOB != "" || m.DecryptError != ""
}

// listenPrinter writes events as they come; the mutex keeps lines whole.
type listenPrinter struct {
	mu sync.Mutex
	p  *messagePrinter
}

func (lp *listenPrinter) print(ev listen.Event) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.p.json && ev.Room != nil {
		_ = writeMessageJSON(lp.p.w, ev.Message, ev.Room)
		return
	}
	_ = lp.p.print(ev.Message)
}

// subscriptionEvent is the --json form of a subscription request.
type subscriptionEvent struct {
	Event    string `json:"event"`
	From     string `json:"from"`
	Status   string `json:"status,omitempty"`
	Approved bool   `json:"approved"`
	Error    string `json:"error,omitempty"`
}

// request reports a subscription request: JSON on stdout, else a line on
// stderr.
func (lp *listenPrinter) request(f *Factory, ev listen.SubscriptionEvent) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if f.Global.JSON {
		je := subscriptionEvent{Event: "subscription-request", From: ev.From, Status: ev.Status, Approved: ev.Approved}
		if ev.Err != nil {
			je.Error = ev.Err.Error()
		}
		_ = f.PrintJSON(je)
		return
	}
	from := term.Sanitize(ev.From, false)
	switch {
	case ev.Err != nil:
		f.Warnf("subscription request from %s not approved: %s", from, term.Sanitize(ev.Err.Error(), false))
	case ev.Approved:
		if !f.Global.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "xmppctl: approved the subscription request of %s\n", from)
		}
	case !f.Global.Quiet:
		fmt.Fprintf(f.IO.ErrOut, "xmppctl: subscription request from %s (pending: xmppctl roster approve %s)\n", from, from)
	}
}

// execRunner runs --exec commands one at a time, in order, off the
// receive path.
type execRunner struct {
	f     *Factory
	cmd   string
	queue chan execJob
	done  chan struct{}
}

// execJob is one run of the --exec command.
type execJob struct {
	env   []string
	stdin string
	who   string // for the warning when it fails
}

// startExecRunner starts the worker, which runs the commands under ctx and
// skips what is queued once ctx ended.
func startExecRunner(ctx context.Context, f *Factory, cmd string) *execRunner {
	r := &execRunner{f: f, cmd: cmd, queue: make(chan execJob, 4096), done: make(chan struct{})}
	go r.loop(ctx)
	return r
}

func (r *execRunner) enqueue(ctx context.Context, ev listen.Event) {
	m := ev.Message
	env := []string{"XMPP_EVENT=message",
		"XMPP_FROM=" + m.From, "XMPP_TO=" + m.To, "XMPP_WITH=" + m.With, "XMPP_ID=" + m.StanzaID,
		"XMPP_MESSAGE_ID=" + m.MsgID, "XMPP_TYPE=" + m.Type, "XMPP_DIRECTION=" + m.Direction,
		"XMPP_TIMESTAMP=" + m.Time.UTC().Format(time.RFC3339), "XMPP_OOB_URL=" + m.OOB, "XMPP_SUBJECT=" + envSafe(m.Subject),
		"XMPP_ENCRYPTED=" + m.Encrypted, "XMPP_SENDER_FINGERPRINT=" + m.SenderFP, "XMPP_TRUST=" + m.Trust,
		"XMPP_DECRYPT_ERROR=" + envSafe(m.DecryptError)}
	if ev.Room != nil {
		env = append(env, "XMPP_ROOM="+ev.Room.Room, "XMPP_NICK="+envSafe(ev.Room.Nick),
			"XMPP_OCCUPANT_ID="+envSafe(ev.Room.OccupantID), "XMPP_REAL_JID="+envSafe(ev.Room.RealJID))
	}
	r.push(ctx, execJob{env: env, stdin: m.Body, who: "the message from " + m.From})
}

func (r *execRunner) enqueueRequest(ctx context.Context, ev listen.SubscriptionEvent) {
	approved := "0"
	if ev.Approved {
		approved = "1"
	}
	r.push(ctx, execJob{env: []string{"XMPP_EVENT=subscription-request", "XMPP_FROM=" + ev.From, "XMPP_APPROVED=" + approved},
		stdin: ev.Status, who: "the subscription request of " + ev.From})
}

func (r *execRunner) push(ctx context.Context, j execJob) {
	select {
	case r.queue <- j:
	case <-ctx.Done():
	}
}

func (r *execRunner) close() {
	close(r.queue)
	<-r.done
}

func (r *execRunner) loop(ctx context.Context) {
	defer close(r.done)
	for j := range r.queue {
		if ctx.Err() != nil {
			continue
		}
		r.run(ctx, j)
	}
}

func (r *execRunner) run(ctx context.Context, j execJob) {
	c := exec.CommandContext(ctx, "/bin/sh", "-c", r.cmd)
	// The command handles remote content: it gets no secret (issue 14).
	c.Env = append(config.ChildEnv(os.Environ()), j.env...)
	c.Stdin = strings.NewReader(j.stdin) // not a copy: the body may be megabytes
	c.Stdout, c.Stderr = r.f.IO.Out, r.f.IO.ErrOut
	if err := c.Run(); err != nil && ctx.Err() == nil {
		r.f.Warnf("--exec for %s: %v", term.Sanitize(j.who, false), err)
	}
}

// envSafe drops NUL bytes, which an environment variable cannot hold.
func envSafe(s string) string { return strings.ReplaceAll(s, "\x00", "") }
