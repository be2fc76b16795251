package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/codepages"
	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/carbons"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/retry"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type archiveSyncOptions struct {
	f *Factory

	With       string
	Since      string
	Rooms      []string
	PageSize   int
	NoPipeline bool
	Nick       string
	Retries    int
}

// archiveSyncRetries: reconnections in a row after a lost connection; the
// sync resumes after the last page committed.
const archiveSyncRetries = 5

func newArchiveSyncCmd(f *Factory) *cobra.Command {
	opts := &archiveSyncOptions{f: f}
	c := &cobra.Command{
		Use:   "sync [--with JID] [--since TIME] [--room ROOM]...",
		Short: "Copy new messages from the server's archive into the local store",
		Long: `Fetch the messages the server archived (XEP-0313) since the last sync and store
them in the local archive. The first sync fetches everything (or what is newer
than --since). Carbons (XEP-0280) are enabled first, so that messages arriving
while the sync runs are stored too, each message exactly once.

Each page is committed with the sync point: an interrupted sync keeps what it
stored and the next one continues after it. A lost connection is reconnected
(--retries times in a row, with backoff) and the sync continues the same way. If the server no longer has the
last synced message (the archive expired), the sync starts again from the
oldest message available and reports a gap.

With --room, the archives of those rooms (XEP-0313 on the room JID) are synced
instead of the account's. On a terminal a progress bar is shown on stderr;
with --json one summary object per archive is printed:
{"archive","new","duplicates","total","last_id"} (total: messages stored
locally for that archive; "gap": true when a gap was detected).`,
		Example: `  xmppctl archive sync
  xmppctl archive sync --since 2024-01-01
  xmppctl archive sync --room dev@conference.example.org --json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runArchiveSync(c.Context(), opts) },
	}
	fl := c.Flags()
	fl.StringVar(&opts.With, "with", "", "only the conversation with this JID")
	fl.StringVar(&opts.Since, "since", "", "on the first sync, start at this time (RFC 3339, YYYY-MM-DD, or a duration ago like 720h)")
	fl.StringArrayVar(&opts.Rooms, "room", nil, "sync this room's archive instead of the account's (repeatable)")
	fl.IntVar(&opts.PageSize, "page-size", mam.DefaultPageSize, "messages per archive page (the server may allow fewer)")
	fl.BoolVar(&opts.NoPipeline, "no-pipeline", false, "ask for each page only after storing the previous one, oldest first")
	fl.StringVar(&opts.Nick, "nick", "", "your nickname in the rooms, to tell your messages (default: config nick or local part)")
	fl.IntVar(&opts.Retries, "retries", archiveSyncRetries, "reconnection attempts in a row after a lost connection")
	_ = fl.MarkHidden("no-pipeline")
	return c
}

func runArchiveSync(ctx context.Context, opts *archiveSyncOptions) error {
	f := opts.f
	since, err := parseWhen("since", opts.Since, time.Now())
	if err != nil {
		return err
	}
	if opts.PageSize < 1 {
		return usageErrorf("invalid --page-size %d: want at least 1", opts.PageSize)
	}
	if opts.Retries < 0 {
		return usageErrorf("--retries must not be negative")
	}
	var with string
	if opts.With != "" {
		w, err := parseJIDs([]string{opts.With}, false)
		if err != nil {
			return err
		}
		with = w[0]
	}
	rooms, err := parseJIDs(opts.Rooms, true)
	if err != nil {
		return err
	}
	acct, err := f.Account()
	if err != nil {
		return err
	}
	nick := firstNonEmpty(opts.Nick, acct.Nick, strings.SplitN(acct.JID, "@", 2)[0])
	lock, err := store.Acquire(ctx, f.DataDir(), acct.JID, func() {
		if !f.Global.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "xmppctl: another archive sync of %s is running; waiting for it\n", acct.JID)
		}
	})
	if err != nil {
		return err
	}
	defer lock.Release()
	// The store opens while the session logs in: creating a new store's
	// schema takes as long as a login, and the server waits for both.
	opened := make(chan syncStore, 1)
	go func() { opened <- openSyncStore(ctx, f, acct) }()
	defer func() {
		if opened != nil {
			if o := <-opened; o.st != nil {
				o.st.Close()
			}
		}
	}()

	self := archive.Self{Account: store.Bare(acct.JID), Nick: nick}
	// No XEP-0198 for a sync: it sends only IQs, each answered, so acks
	// prove nothing more, while Prosody's mod_smacks clones every archive
	// result it sends into its resend queue (a third more server CPU per
	// page, bench/archive.sh). Flush falls back to a ping.
	ss := &syncSession{f: f, dial: f.Redial(acct, true, func(o *conn.Options) { o.NoSM = true })}
	// A session lost while it starts (the server flushing a large offline
	// backlog to it) is retried like a later loss; a first connection that
	// fails is not.
	var ce *conn.ConnectError
	if err := ss.open(ctx); err != nil && (!errors.As(err, &ce) || !ce.Lost) {
		return err
	}
	defer ss.close()
	so := <-opened
	opened = nil
	if so.err != nil {
		return so.err
	}
	st, decrypt := so.st, so.decrypt
	defer st.Close()
	// Login is over: its code (TLS handshake, certificate checks, SASL)
	// leaves the resident set before the pages come (internal/codepages):
	// 3 MiB less peak RSS for a sync of 10,000 messages, for a few
	// milliseconds of CPU (issue 16).
	codepages.Drop()
	checkHeap := tightenForSync()
	defer softMemoryLimit()
	targets := []string{""}
	if len(rooms) > 0 {
		targets = rooms
	}
	var failed []error
	for _, room := range targets {
		o := archive.Options{Self: self, Room: room, With: with, Since: since, PageSize: opts.PageSize, Settle: archive.DefaultSettle,
			Timeout: f.Global.Timeout, NoPipeline: opts.NoPipeline,
			Warn: func(format string, args ...any) { f.Warnf(format, args...) }, Decrypt: decrypt}
		bar := newSyncProgress(f, o.ArchiveJID())
		o.Progress = func(done, total int) {
			checkHeap()
			if bar != nil {
				bar.update(done, total)
			}
		}
		var sum archive.Summary
		policy := retry.Policy{Retries: opts.Retries, OnLost: func(err error, n int) {
			f.Warnf("%s; reconnecting (attempt %d of %d)", term.Sanitize(err.Error(), false), n, opts.Retries)
		}}
		err := policy.Do(ctx, func(ctx context.Context, attempt int) error {
			if attempt > 0 || ss.s == nil {
				if err := ss.reopen(ctx); err != nil {
					return err
				}
			}
			o.Live = ss.live
			got, err := archive.Sync(ctx, ss.s, st, o)
			sum = got.Add(sum)
			return err
		})
		bar.finish()
		if err != nil {
			err = syncError(o.ArchiveJID(), err)
			if ctx.Err() != nil || len(targets) == 1 {
				return err
			}
			printFailure(f.IO.ErrOut, err)
			failed = append(failed, err)
			continue
		}
		renderSyncSummary(f, sum)
	}
	return outcome(len(targets), failed)
}

// syncError adds the hint for archives the server does not offer.
func syncError(archiveJID string, err error) error {
	var me *mam.Error
	if !errors.As(err, &me) {
		return err
	}
	switch me.Condition() {
	case stanza.FeatureNotImplemented, stanza.ServiceUnavailable:
		return &RemoteError{Err: err, Hint: fmt.Sprintf("%s keeps no message archive (XEP-0313); ask its admin to enable one (Prosody: mod_mam, mod_muc_mam for rooms)", archiveJID)}
	case stanza.Forbidden, stanza.NotAllowed, stanza.RegistrationRequired:
		return &RemoteError{Err: err, Hint: "the room's archive is for members only: join or ask for membership first"}
	}
	return err
}

func renderSyncSummary(f *Factory, sum archive.Summary) {
	if f.Global.JSON {
		_ = json.NewEncoder(f.IO.Out).Encode(sum)
		return
	}
	line := fmt.Sprintf("%s: %d new, %d already stored, %d in the local archive", sum.Archive, sum.New, sum.Duplicates, sum.Total)
	if sum.Gap {
		line += " (GAP: the archive lost messages since the previous sync)"
	}
	fmt.Fprintln(f.IO.Out, term.Sanitize(line, false))
	if sum.Forged > 0 {
		f.Warnf("%d archive results from someone other than the archive were ignored", sum.Forged)
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// syncProgress is a progress bar on a terminal's stderr.
type syncProgress struct {
	bar   *progressbar.ProgressBar
	total int
}

func newSyncProgress(f *Factory, archiveJID string) *syncProgress {
	if !f.IO.ErrTTY || f.Global.Quiet || f.Global.JSON {
		return nil
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(f.IO.ErrOut),
		progressbar.OptionSetDescription(term.Sanitize(archiveJID, false)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("msg"),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	return &syncProgress{bar: bar, total: -1}
}

func (p *syncProgress) update(done, total int) {
	if total >= 0 && total != p.total {
		p.bar.ChangeMax(total)
		p.total = total
	}
	_ = p.bar.Set(done)
}

func (p *syncProgress) finish() {
	if p != nil {
		_ = p.bar.Finish()
	}
}

// syncSession is the session of an archive sync, replaced after a loss:
// subscribed before carbons are enabled, so that every copy from then on
// is seen.
type syncSession struct {
	f    *Factory
	dial func(context.Context) (conn.Session, error)
	s    conn.Session
	live conn.Subscription
}

func (ss *syncSession) open(ctx context.Context) error {
	s, err := ss.dial(ctx)
	if err != nil {
		return err
	}
	ss.s, ss.live = s, s.Subscribe()
	if err := s.Err(); err != nil {
		return err
	}
	cctx, cancel := ss.f.WithTimeout(ctx)
	err = carbons.Enable(cctx, s)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		if retry.Lost(err) {
			return err
		}
		ss.f.Warnf("%s; messages your other devices send during the sync are fetched by the next one", term.Sanitize(err.Error(), false))
	}
	return nil
}

// reopen replaces a lost session.
func (ss *syncSession) reopen(ctx context.Context) error {
	ss.close()
	return ss.open(ctx)
}

func (ss *syncSession) close() {
	if ss.s == nil {
		return
	}
	ss.live.Close()
	ss.s.Close()
	ss.s = nil
}

// syncStore is the store a sync writes and its decrypter, or why they
// could not be opened.
type syncStore struct {
	st      *store.Store
	decrypt archive.Decrypter
	err     error
}

func openSyncStore(ctx context.Context, f *Factory, acct config.Account) syncStore {
	st, err := openStore(ctx, f)
	if err != nil {
		return syncStore{err: err}
	}
	decrypt, err := omemoArchiveDecrypter(f, st, acct)
	if err != nil {
		st.Close()
		return syncStore{err: err}
	}
	return syncStore{st: st, decrypt: decrypt}
}
