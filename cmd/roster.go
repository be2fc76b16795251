package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/roster"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type rosterOptions struct {
	f *Factory

	Action      string // list, add, remove, subscribe, requests, approve, deny
	JIDs        []string
	Name        string
	NameSet     bool
	Groups      []string
	NoSubscribe bool
}

func newRosterCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "roster",
		Short: "List and manage contacts and presence subscriptions (RFC 6121)",
		Long: `Manage the account's contact list (roster) on the server and the presence
subscriptions with each contact (RFC 6121). A subscription is what lets a
contact see your presence, and what some servers require before they deliver
messages to a bare JID.

Subscription states: none, to (you see theirs), from (they see yours), both.
A pending request you sent shows as ask "subscribe".

Requests others sent you are kept by the server until you answer them; it
delivers them again at every login, and "roster requests" lists them.
"roster approve" answers them (and pre-approves a contact who has not asked
yet, where the server supports it); "roster deny" refuses them, or revokes
an approval given earlier. These commands do not show the account online:
the presence the connection library sends at login is withdrawn at once.

Every JID given gets its outcome (with --json, an array of objects with jid,
outcome, error, and for add the outcome of its subscription request in
"subscribe"). Exit status 3 when some failed, that of the failure
when all did.`,
		Example: `  xmppctl roster list
  xmppctl roster add bob@example.org --name Bob --group Friends
  xmppctl roster requests --json | jq -r '.[].jid'
  xmppctl roster approve alice@example.org
  xmppctl roster deny spammer@example.net
  xmppctl roster remove old@example.org`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return &UsageError{Err: fmt.Errorf("roster needs a subcommand: list, add, remove, subscribe, requests, approve or deny"),
				Hint: "see xmppctl roster --help"}
		},
	}
	sub := func(use, short, long, example, action string, args cobra.PositionalArgs) (*cobra.Command, *rosterOptions) {
		opts := &rosterOptions{f: f, Action: action}
		return &cobra.Command{
			Use: use, Short: short, Long: long, Example: example, Args: args,
			RunE: func(c *cobra.Command, args []string) error {
				opts.JIDs = args
				opts.NameSet = c.Flags().Changed("name")
				return runRoster(c.Context(), opts)
			},
		}, opts
	}
	needJIDs := func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErrorf("give at least one JID")
		}
		return nil
	}
	list, _ := sub("list", "Print the contacts: JID, name, groups, subscription, pending request",
		`Print the roster as a table (JID, NAME, GROUPS, SUBSCRIPTION, ASK), or with
--json an array of objects {jid, name, groups, subscription, ask}.`,
		"  xmppctl roster list\n  xmppctl roster list --json | jq -r '.[] | select(.subscription==\"both\") | .jid'", "list", noArgs)
	add, addOpts := sub("add JID", "Add a contact (or change its name and groups) and ask for its presence",
		`Add JID to the roster, or update its name and groups when it is there already
(flags not given keep their current values; --group replaces all groups). Then
send a subscription request, unless --no-subscribe or you already see the
contact's presence.`,
		"  xmppctl roster add bob@example.org --name Bob --group Friends --group Work", "add", exactArgs(1, "give exactly one JID"))
	add.Flags().StringVar(&addOpts.Name, "name", "", "the contact's name in the roster")
	add.Flags().StringArrayVar(&addOpts.Groups, "group", nil, "a group for the contact (repeatable)")
	add.Flags().BoolVar(&addOpts.NoSubscribe, "no-subscribe", false, "do not send a subscription request")
	remove, _ := sub("remove JID", "Remove a contact; the server cancels the subscriptions both ways",
		"", "  xmppctl roster remove old@example.org", "remove", exactArgs(1, "give exactly one JID"))
	subscribe, _ := sub("subscribe JID...", "Ask contacts to let you see their presence",
		"", "  xmppctl roster subscribe bob@example.org", "subscribe", needJIDs)
	requests, _ := sub("requests", "List pending subscription requests others sent you",
		`Print the JIDs that asked to see your presence and have no answer yet, one
per line with the text they sent, if any; with --json an array of objects
{jid, status}. The server delivers these requests at login.`,
		"  xmppctl roster requests", "requests", noArgs)
	approve, _ := sub("approve JID...", "Let contacts see your presence (answer or pre-approve their request)",
		`Approve the pending subscription requests of the JIDs. A JID that has not
asked is pre-approved (RFC 6121 §3.4) when the server supports it, so its
request is approved when it comes; otherwise that JID fails (exit status 5).`,
		"  xmppctl roster approve alice@example.org", "approve", needJIDs)
	deny, _ := sub("deny JID...", "Refuse subscription requests, or revoke an approval",
		`Refuse the pending subscription requests of the JIDs; for a contact that
already sees your presence, revoke that. A JID with neither is reported as
not pending and is not an error.`,
		"  xmppctl roster deny spammer@example.net", "deny", needJIDs)
	c.AddCommand(list, add, remove, subscribe, requests, approve, deny)
	return c
}

func runRoster(ctx context.Context, opts *rosterOptions) error {
	f := opts.f
	jids, err := parseJIDs(opts.JIDs, false)
	if err != nil {
		return err
	}
	for _, j := range jids {
		if strings.Contains(j, "/") {
			return usageErrorf("invalid contact %q: want a bare JID (user@example.org) without a /resource", j)
		}
	}
	jids = dedupe(jids)
	for _, g := range opts.Groups {
		if strings.TrimSpace(g) == "" {
			return usageErrorf("invalid --group %q: want a non-empty name", g)
		}
	}
	s, _, err := f.Session(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	// The first subscription receives what arrived since login: the
	// pending requests the server re-delivers (see pkg/roster).
	sub := s.Subscribe()
	defer sub.Close()
	wctx, cancel := f.WithTimeout(ctx)
	defer cancel()
	st, err := roster.Load(wctx, s, sub)
	if err != nil {
		return err
	}
	var results []roster.Result
	switch opts.Action {
	case "list":
		return printRoster(f, st.Items)
	case "requests":
		return printRequests(f, st.Pending)
	case "add":
		var name *string
		if opts.NameSet {
			name = &opts.Name
		}
		var res roster.Result
		res, err = roster.Add(wctx, s, sub, st, jids[0], name, opts.Groups, !opts.NoSubscribe)
		results = []roster.Result{res}
	case "remove":
		var res roster.Result
		res, err = roster.Remove(wctx, s, st, jids[0])
		results = []roster.Result{res}
	case "subscribe":
		results, err = roster.Subscribe(wctx, s, sub, st, jids)
	case "approve":
		results, err = roster.Approve(wctx, s, sub, st, jids)
	case "deny":
		results, err = roster.Deny(wctx, s, sub, st, jids)
	}
	if err != nil {
		return err
	}
	return renderRosterResults(f, results)
}

func printRoster(f *Factory, items []roster.Item) error {
	if f.Global.JSON {
		if items == nil {
			items = []roster.Item{}
		}
		return f.PrintJSON(items)
	}
	if len(items) == 0 {
		if !f.Global.Quiet {
			fmt.Fprintln(f.IO.ErrOut, "the roster is empty")
		}
		return nil
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "JID\tNAME\tGROUPS\tSUBSCRIPTION\tASK")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return term.Sanitize(s, false)
	}
	for _, it := range items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", dash(it.JID), dash(it.Name), dash(strings.Join(it.Groups, ",")),
			it.Subscription, dash(string(it.Ask)))
	}
	return w.Flush()
}

func printRequests(f *Factory, reqs []roster.Request) error {
	if f.Global.JSON {
		if reqs == nil {
			reqs = []roster.Request{}
		}
		return f.PrintJSON(reqs)
	}
	if len(reqs) == 0 && !f.Global.Quiet {
		fmt.Fprintln(f.IO.ErrOut, "no pending subscription requests")
	}
	for _, r := range reqs {
		if r.Status != "" {
			fmt.Fprintf(f.IO.Out, "%s\t%s\n", term.Sanitize(r.JID, false), term.Sanitize(r.Status, false))
			continue
		}
		fmt.Fprintln(f.IO.Out, term.Sanitize(r.JID, false))
	}
	return nil
}

var rosterSentences = map[roster.Outcome]string{
	roster.Added:             "added %s to the roster",
	roster.Updated:           "updated %s in the roster",
	roster.Removed:           "removed %s from the roster",
	roster.NotInRoster:       "%s was not in the roster",
	roster.Requested:         "asked %s for a presence subscription",
	roster.AlreadySubscribed: "already subscribed to %s",
	roster.Approved:          "approved the subscription request of %s",
	roster.PreApproved:       "pre-approved %s: its request will be approved when it comes",
	roster.AlreadyApproved:   "%s already sees your presence",
	roster.Denied:            "denied the subscription request of %s",
	roster.Revoked:           "revoked the subscription of %s: it no longer sees your presence",
	roster.NotPending:        "%s had no pending subscription request",
}

// renderRosterResults prints one outcome per JID and returns the failures
// as the command's error.
func renderRosterResults(f *Factory, results []roster.Result) error {
	var failures []error
	for _, r := range results {
		if r.Err != nil {
			failures = append(failures, rosterFailure(r.Err))
		}
	}
	if f.Global.JSON {
		if err := f.PrintJSON(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Err != nil {
				if len(results) > 1 { // a single failure is the command's error
					printFailure(f.IO.ErrOut, r.Err)
				}
				continue
			}
			if !f.Global.Quiet {
				fmt.Fprintf(f.IO.ErrOut, rosterSentences[r.Outcome]+"\n", r.JID)
				if r.Subscribe != "" {
					fmt.Fprintf(f.IO.ErrOut, rosterSentences[r.Subscribe]+"\n", r.JID)
				}
			}
		}
	}
	return outcome(len(results), failures)
}

func rosterFailure(err error) error {
	if errors.Is(err, roster.ErrNoRequest) {
		return &RemoteError{Err: err, Hint: "ask the contact to send a subscription request first (xmppctl roster requests shows them)"}
	}
	return err
}
