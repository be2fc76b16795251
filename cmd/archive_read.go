package cmd

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/store"
	"github.com/xmppctl/xmppctl/pkg/term"
)

func newArchiveUnreadCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "unread",
		Short: "List conversations with messages you have not read on any device",
		Long: `List the one-to-one conversations of the local archive that have messages newer
than the point up to which you read them: the message named by the newest
"displayed" chat marker (XEP-0333) any of your devices sent (they reach the
local archive as sent carbons while "listen" runs, or through "archive sync"),
your own newest reply, or "archive read". The newest conversation comes first.

Columns: WITH, UNREAD (count), NEWEST (time and text of the newest unread
message). With --json one object per line: {with, unread, read_until,
newest} where newest has the fields of "archive list --json". Reads the local
store only; run "archive sync" (or keep "listen" running) to bring it up to
date. Rooms are not included.`,
		Example: `  xmppctl archive sync && xmppctl archive unread
  xmppctl archive unread --json | jq -r '"\(.unread) \(.with)"'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runArchiveUnread(c.Context(), f) },
	}
}

func runArchiveUnread(ctx context.Context, f *Factory) error {
	acct, err := f.Account()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	convs, err := st.Unread(ctx, acct.JID)
	if err != nil {
		return err
	}
	if f.Global.JSON {
		for _, u := range convs {
			if err := f.PrintJSON(u); err != nil {
				return err
			}
		}
		return nil
	}
	if len(convs) == 0 {
		if !f.Global.Quiet {
			fmt.Fprintln(f.IO.ErrOut, "no unread messages in the local archive")
		}
		return nil
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "WITH\tUNREAD\tNEWEST")
	p := &messagePrinter{local: time.Local}
	for _, u := range convs {
		newest := ""
		if u.Newest != nil {
			text := strings.ReplaceAll(p.text(u.Newest, 0), "\n", " ")
			if r := []rune(text); len(r) > 60 {
				text = string(r[:59]) + "…"
			}
			newest = u.Newest.Time.In(time.Local).Format("2006-01-02 15:04") + "  " + text
		}
		fmt.Fprintf(w, "%s\t%d\t%s\n", term.Sanitize(u.With, false), u.Count, newest)
	}
	return w.Flush()
}

type archiveReadOptions struct {
	f    *Factory
	With string
}

// readResult is the --json output of "archive read".
type readResult struct {
	With      string    `json:"with"`
	MessageID string    `json:"message_id"` // the id the marker names
	Timestamp time.Time `json:"timestamp"`  // of that message
	MarkerID  string    `json:"marker_id"`  // the marker stanza's id
}

func newArchiveReadCmd(f *Factory) *cobra.Command {
	opts := &archiveReadOptions{f: f}
	return &cobra.Command{
		Use:   "read JID",
		Short: "Mark a conversation read on all your devices (sends a displayed marker)",
		Long: `Send a "displayed" chat marker (XEP-0333) for the newest message from JID in
the local archive, and record it there, so that "archive unread" no longer
lists the conversation. Your other devices receive the marker (as a sent
carbon, and from the server archive) and clear the conversation's
notification; the contact learns that you read it. The marker names the
message by its id, as XEP-0333 requires for one-to-one chats. Exit 0 once
the server has processed the marker.`,
		Example: `  xmppctl archive read bob@example.org`,
		Args:    exactArgs(1, "give exactly one JID"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.With = args[0]
			return runArchiveRead(c.Context(), opts)
		},
	}
}

func runArchiveRead(ctx context.Context, opts *archiveReadOptions) error {
	f := opts.f
	jids, err := parseJIDs([]string{opts.With}, false)
	if err != nil {
		return err
	}
	if strings.Contains(jids[0], "/") {
		return usageErrorf("invalid contact %q: want a bare JID (user@example.org) without a /resource", opts.With)
	}
	with := store.Bare(jids[0])
	acct, err := f.Account()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	m, ok, err := st.NewestIncoming(ctx, acct.JID, with)
	if err != nil {
		return err
	}
	if !ok {
		return &UsageError{Err: fmt.Errorf("no message from %s in the local archive", with),
			Hint: "run xmppctl archive sync first (or keep xmppctl listen running)"}
	}
	if m.MsgID == "" {
		return fmt.Errorf("newest message from %s: %w", with, archive.ErrNoID)
	}
	wctx, s, end, err := f.loginAs(ctx, acct)
	if err != nil {
		return err
	}
	defer end()
	mk, err := archive.MarkDisplayed(wctx, s, st, archive.Self{Account: store.Bare(acct.JID)}, m)
	if err != nil {
		return err
	}
	return f.Done(readResult{With: with, MessageID: m.MsgID, Timestamp: m.Time, MarkerID: mk.ID},
		"marked the conversation with %s read up to the message of %s", term.Sanitize(with, false),
		m.Time.In(time.Local).Format("2006-01-02 15:04:05"))
}
