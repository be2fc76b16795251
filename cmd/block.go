package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/blocking"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type blockOptions struct {
	f *Factory

	Action string // list, add, remove, clear
	JIDs   []string
}

// blockResult is the --json output of add, remove and clear.
type blockResult struct {
	Blocked        []string `json:"blocked,omitempty"`
	AlreadyBlocked []string `json:"already_blocked,omitempty"`
	Unblocked      []string `json:"unblocked,omitempty"`
	NotBlocked     []string `json:"not_blocked,omitempty"`
}

func newBlockCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "block",
		Short: "List, add and remove blocked JIDs (XEP-0191)",
		Long: `Manage the account's blocklist on the server (XEP-0191 Blocking Command).
The server drops messages, presence and IQs from blocked JIDs, on every
device of the account. A JID may be a bare JID (user@example.org), a full
JID (one resource) or a domain (example.org, everyone there).

list asks the server every time, so it shows changes made by other devices.
add and remove say what changed; blocking a JID that is already blocked, or
unblocking one that is not, is not an error. A server without blocking
support gives exit status 5.`,
		Example: `  xmppctl block list
  xmppctl block add spam@example.org spammers.example
  xmppctl block remove friend@example.org
  xmppctl block clear
  xmppctl block list --json | jq -r '.[]'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return &UsageError{Err: fmt.Errorf("block needs a subcommand: list, add, remove or clear"),
				Hint: "see xmppctl block --help"}
		},
	}
	sub := func(use, short, example string, action string, args cobra.PositionalArgs) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Example: example, Args: args,
			RunE: func(c *cobra.Command, args []string) error {
				return runBlock(c.Context(), &blockOptions{f: f, Action: action, JIDs: args})
			},
		}
	}
	needJIDs := func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErrorf("give at least one JID")
		}
		return nil
	}
	list := sub("list", "Print the blocked JIDs, one per line (--json: an array)",
		"  xmppctl block list", "list", noArgs)
	list.Long = "Print the JIDs on the server's blocklist, one per line; with --json a JSON array of strings."
	c.AddCommand(list,
		sub("add JID...", "Block JIDs", "  xmppctl block add spam@example.org", "add", needJIDs),
		sub("remove JID...", "Unblock JIDs", "  xmppctl block remove friend@example.org", "remove", needJIDs),
		sub("clear", "Unblock everyone", "  xmppctl block clear", "clear", noArgs))
	return c
}

func runBlock(ctx context.Context, opts *blockOptions) error {
	f := opts.f
	jids, err := parseJIDs(opts.JIDs, false)
	if err != nil {
		return err
	}
	wctx, s, _, end, err := f.login(ctx)
	if err != nil {
		return err
	}
	defer end()

	if err := requireBlocking(wctx, s); err != nil {
		return err
	}
	blocking.HandlePushes(s)
	current, err := blocking.List(wctx, s)
	if err != nil {
		return err
	}
	if opts.Action == "list" {
		return printBlocklist(f, current)
	}
	blocked := map[string]bool{}
	for _, j := range current {
		blocked[j] = true
	}
	var res blockResult
	switch opts.Action {
	case "add":
		res.AlreadyBlocked, res.Blocked = partitionJIDs(dedupe(jids), blocked)
		if len(res.Blocked) > 0 {
			err = blocking.Block(wctx, s, res.Blocked...)
		}
	case "remove":
		res.Unblocked, res.NotBlocked = partitionJIDs(dedupe(jids), blocked)
		if len(res.Unblocked) > 0 {
			err = blocking.Unblock(wctx, s, res.Unblocked...)
		}
	case "clear":
		res.Unblocked = current
		if len(current) > 0 {
			err = blocking.UnblockAll(wctx, s)
		}
	}
	if err != nil {
		return err
	}
	renderBlockResult(f, res, opts.Action)
	return nil
}

func requireBlocking(ctx context.Context, s conn.Session) error {
	ok, err := blocking.Supported(ctx, s)
	if err != nil {
		return err
	}
	if !ok {
		return &RemoteError{Err: blocking.ErrUnsupported,
			Hint: "ask the server's operator to enable XEP-0191 (Prosody: mod_blocklist, ejabberd: mod_blocking)"}
	}
	return nil
}

func printBlocklist(f *Factory, jids []string) error {
	if f.Global.JSON {
		if jids == nil {
			jids = []string{}
		}
		return f.PrintJSON(jids)
	}
	for _, j := range jids {
		fmt.Fprintln(f.IO.Out, term.Sanitize(j, false))
	}
	return nil
}

func renderBlockResult(f *Factory, res blockResult, action string) {
	if f.Global.JSON {
		_ = f.PrintJSON(res)
		return
	}
	if f.Global.Quiet {
		return
	}
	w := f.IO.ErrOut
	for _, j := range res.Blocked {
		fmt.Fprintf(w, "blocked %s\n", j)
	}
	for _, j := range res.AlreadyBlocked {
		fmt.Fprintf(w, "%s was already blocked\n", j)
	}
	for _, j := range res.Unblocked {
		fmt.Fprintf(w, "unblocked %s\n", term.Sanitize(j, false))
	}
	for _, j := range res.NotBlocked {
		fmt.Fprintf(w, "%s was not blocked\n", j)
	}
	if action == "clear" && len(res.Unblocked) == 0 {
		fmt.Fprintln(w, "the blocklist was already empty")
	}
}

// partitionJIDs sorts jids, in order, into those in set and the others.
func partitionJIDs(jids []string, set map[string]bool) (in, out []string) {
	for _, j := range jids {
		if set[j] {
			in = append(in, j)
		} else {
			out = append(out, j)
		}
	}
	return in, out
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
