package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
	"github.com/xmppctl/xmppctl/pkg/term"
)

func newArchiveCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "archive",
		Short: "Sync the server's message archive to a local store and query it",
		Long: `The server keeps an archive of your messages (XEP-0313, MAM); "archive sync"
copies it into a local SQLite store in the data directory, and "archive list",
"search" and "export" read that store without connecting.

Each message is kept once, identified by the archive's stanza-id (XEP-0359);
a sync continues after the last message the previous one stored.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	c.AddCommand(newArchiveSyncCmd(f), newArchiveListCmd(f), newArchiveSearchCmd(f), newArchiveExportCmd(f))
	c.AddCommand(newArchiveUnreadCmd(f), newArchiveReadCmd(f))
	return c
}

// parseWhen accepts RFC 3339 ("2024-05-01T10:00:00Z"), a date
// ("2024-05-01", local midnight), "2024-05-01 10:00" (local), or a
// duration meaning that long ago ("72h", "30m").
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, usageErrorf("invalid --%s %q: want RFC 3339, YYYY-MM-DD[ HH:MM], or a duration like 72h", flag, s)
}

// queryOptions are the filters shared by list, search and export.
type queryOptions struct {
	f     *Factory
	With  []string
	Rooms []string
	Since string
	Until string
	Limit int
	All   bool
}

func (o *queryOptions) flags(c *cobra.Command, limit bool) {
	fl := c.Flags()
	fl.StringArrayVar(&o.With, "with", nil, "only the conversation with this JID (repeatable)")
	fl.StringArrayVar(&o.Rooms, "room", nil, "only this room's messages (repeatable)")
	fl.StringVar(&o.Since, "since", "", "only messages at or after this time (RFC 3339, YYYY-MM-DD, or a duration ago like 72h)")
	fl.StringVar(&o.Until, "until", "", "only messages at or before this time")
	fl.BoolVar(&o.All, "all", false, "also show receipts and markers, not only messages with content")
	if limit {
		fl.IntVar(&o.Limit, "limit", 0, "only the newest N messages (0 = all)")
	}
}

func (o *queryOptions) filter() (store.Filter, error) {
	now := time.Now()
	since, err := parseWhen("since", o.Since, now)
	if err != nil {
		return store.Filter{}, err
	}
	until, err := parseWhen("until", o.Until, now)
	if err != nil {
		return store.Filter{}, err
	}
	if o.Limit < 0 {
		return store.Filter{}, usageErrorf("invalid --limit %d: want 0 or more", o.Limit)
	}
	with, err := parseJIDs(o.With, false)
	if err != nil {
		return store.Filter{}, err
	}
	rooms, err := parseJIDs(o.Rooms, true)
	if err != nil {
		return store.Filter{}, err
	}
	acct, err := o.f.Account()
	if err != nil {
		return store.Filter{}, err
	}
	return store.Filter{Account: store.Bare(acct.JID), With: append(with, rooms...), Since: since, Until: until,
		Limit: o.Limit, Content: !o.All}, nil
}

// openStore opens the local store for reading or writing.
func openStore(ctx context.Context, f *Factory) (*store.Store, error) {
	return store.Open(ctx, f.DataDir())
}

func newArchiveListCmd(f *Factory) *cobra.Command {
	opts := &queryOptions{f: f}
	c := &cobra.Command{
		Use:   "list [flags]",
		Short: "Print messages from the local archive",
		Long: `Print messages from the local archive (run "archive sync" first), oldest first:
time, direction (<- received, -> sent), peer and body. On a terminal, message
styling (XEP-0393: *bold*, _italic_, ~strike~, ` + "`code`" + `, quotes) is shown with
colours; piped, the text is plain. Control sequences in remote text are always
neutralised. With --json every message is a JSON object on its own line.`,
		Example: `  xmppctl archive list --with bob@example.org --limit 20
  xmppctl archive list --room dev@conference.example.org --since 24h
  xmppctl archive list --json --since 2024-05-01 | jq -r .body`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			filter, err := opts.filter()
			if err != nil {
				return err
			}
			return runArchiveQuery(c.Context(), f, filter)
		},
	}
	opts.flags(c, true)
	return c
}

func newArchiveSearchCmd(f *Factory) *cobra.Command {
	opts := &queryOptions{f: f}
	c := &cobra.Command{
		Use:   "search [flags] TEXT",
		Short: "Find messages in the local archive whose body contains TEXT",
		Long: `Print the messages of the local archive whose body or subject contains TEXT
(case-insensitive for ASCII letters), in the same format as "archive list".`,
		Example: `  xmppctl archive search "deploy failed"
  xmppctl archive search --with bob@example.org --json invoice`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
				return usageErrorf("search needs exactly one non-empty TEXT")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			filter, err := opts.filter()
			if err != nil {
				return err
			}
			filter.Text = args[0]
			return runArchiveQuery(c.Context(), f, filter)
		},
	}
	opts.flags(c, true)
	return c
}

func runArchiveQuery(ctx context.Context, f *Factory, filter store.Filter) error {
	st, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriter(f.IO.Out)
	defer w.Flush()
	p := newMessagePrinter(f)
	p.w = w
	return st.Messages(ctx, filter, p.print)
}

type exportOptions struct {
	queryOptions
	Format string
}

func newArchiveExportCmd(f *Factory) *cobra.Command {
	opts := &exportOptions{queryOptions: queryOptions{f: f}}
	c := &cobra.Command{
		Use:   "export --format jsonl|mbox|txt [flags]",
		Short: "Write the local archive in a portable format to standard output",
		Long: `Write messages of the local archive to standard output, oldest first:
  jsonl  one JSON object per message (the fields of "archive list --json")
  mbox   one mail per message (From_ lines, From/To/Date/Message-ID/Subject)
  txt    "TIME  <- PEER  BODY" lines, plain text with control sequences removed`,
		Example: `  xmppctl archive export --format jsonl > archive.jsonl
  xmppctl archive export --format mbox --with bob@example.org > bob.mbox`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			switch opts.Format {
			case "jsonl", "mbox", "txt":
			default:
				return usageErrorf("invalid --format %q: want jsonl, mbox or txt", opts.Format)
			}
			filter, err := opts.filter()
			if err != nil {
				return err
			}
			return runArchiveExport(c.Context(), f, filter, opts.Format)
		},
	}
	opts.flags(c, false)
	c.Flags().StringVar(&opts.Format, "format", "jsonl", "jsonl, mbox or txt")
	return c
}

func runArchiveExport(ctx context.Context, f *Factory, filter store.Filter, format string) error {
	st, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriter(f.IO.Out)
	defer w.Flush()
	var fn func(*store.Message) error
	switch format {
	case "jsonl":
		enc := json.NewEncoder(w)
		fn = func(m *store.Message) error { return enc.Encode(m) }
	case "txt":
		p := &messagePrinter{w: w, local: time.Local}
		fn = p.print
	case "mbox":
		fn = func(m *store.Message) error { return writeMbox(w, m) }
	}
	return st.Messages(ctx, filter, fn)
}

// writeMbox writes one message in mboxrd form. Header values are
// sanitised (no line breaks: no header injection); body lines that start
// with ">*From " get one more '>'.
func writeMbox(w io.Writer, m *store.Message) error {
	hdr := func(s string) string { return term.Sanitize(s, false) }
	from, to := store.Bare(m.From), store.Bare(m.To)
	if m.Type == string(stanza.GroupChatMessage) {
		from = m.From
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From %s %s\n", strings.ReplaceAll(hdr(from), " ", "_"), m.Time.UTC().Format("Mon Jan _2 15:04:05 2006"))
	fmt.Fprintf(&b, "From: <%s>\n", hdr(from))
	fmt.Fprintf(&b, "To: <%s>\n", hdr(to))
	fmt.Fprintf(&b, "Date: %s\n", m.Time.UTC().Format(time.RFC1123Z))
	id := m.StanzaID
	if id == "" {
		id = m.IDKey()
	}
	local, domain, ok := strings.Cut(m.Archive, "@")
	if !ok {
		local, domain = "", m.Archive
	}
	fmt.Fprintf(&b, "Message-ID: <%s.%s@%s>\n", hdr(id), hdr(local), hdr(domain))
	if m.Subject != "" {
		fmt.Fprintf(&b, "Subject: %s\n", hdr(m.Subject))
	}
	fmt.Fprintf(&b, "X-XMPP-Direction: %s\nX-XMPP-Type: %s\n", m.Direction, hdr(m.Type))
	b.WriteString("Content-Type: text/plain; charset=utf-8\n\n")
	body := m.Body
	if m.OOB != "" && m.OOB != body {
		body = strings.TrimSpace(body + "\n" + m.OOB)
	}
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
			line = ">" + line
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
