package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/avatar"
	"github.com/xmppctl/xmppctl/pkg/nick"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type nickOptions struct {
	f *Factory

	Action string // set, get
	Name   string
	JID    string
	Access string
}

func newNickCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "nick",
		Short: "Publish or read a nickname (XEP-0172)",
		Long: `Publish the account's nickname, or read a contact's, on the personal
eventing service (XEP-0172 User Nickname over XEP-0163 PEP).

The nickname node always has the same access model as the avatar: set
without --access keeps the avatar's current model (contacts only when there
is none yet); set with --access changes the avatar nodes to it as well.`,
		Example: `  xmppctl nick set "Alice Liddell"
  xmppctl nick get bob@example.org`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return &UsageError{Err: errors.New("nick needs a subcommand: set or get"), Hint: "see xmppctl nick --help"}
		},
	}
	set := &nickOptions{f: f, Action: "set"}
	setCmd := &cobra.Command{
		Use:     "set NAME",
		Short:   "Publish the account's nickname",
		Example: `  xmppctl nick set --access open "Alice"`,
		Args:    exactArgs(1, "nick set needs one NAME (quote it if it has spaces)"),
		RunE: func(c *cobra.Command, args []string) error {
			set.Name = args[0]
			return runNick(c.Context(), set)
		},
	}
	setCmd.Flags().StringVar(&set.Access, "access", "", accessFlagHelp)
	get := &nickOptions{f: f, Action: "get"}
	getCmd := &cobra.Command{
		Use:     "get [JID]",
		Short:   "Print a nickname (default: the account's own)",
		Example: "  xmppctl nick get bob@example.org",
		Args:    maxArgs(1),
		RunE:    optionalArg(get, &get.JID, runNick),
	}
	c.AddCommand(setCmd, getCmd)
	return c
}

func runNick(ctx context.Context, opts *nickOptions) error {
	f := opts.f
	if opts.Action == "get" {
		return runNickGet(ctx, opts)
	}
	flagModel, err := parseAccessFlag(opts.Access)
	if err != nil {
		return err
	}
	if strings.TrimSpace(opts.Name) == "" {
		return usageErrorf("empty nickname")
	}
	wctx, s, _, info, end, err := f.loginPEP(ctx)
	if err != nil {
		return err
	}
	defer end()
	model, err := chooseAccess(wctx, s, flagModel, avatarGroup...)
	if err != nil {
		return err
	}
	if err := nick.Publish(wctx, s, opts.Name, pepOptions(info, model)); err != nil {
		return err
	}
	if err := alignAccess(wctx, s, model, avatar.NSData, avatar.NSMetadata); err != nil {
		return err
	}
	return f.Done(map[string]string{"nick": opts.Name, "access": string(model)},
		"published nickname, visible to %s (access %s)", describeAccess(model), model)
}

func runNickGet(ctx context.Context, opts *nickOptions) error {
	f := opts.f
	jid, err := peerJID(opts.JID)
	if err != nil {
		return err
	}
	name, jid, err := getPeer(ctx, f, jid, "nickname", nick.ErrNone, nick.Get)
	if err != nil {
		return err
	}
	if f.Global.JSON {
		return f.PrintJSON(map[string]string{"jid": jid, "nick": name})
	}
	fmt.Fprintln(f.IO.Out, term.Sanitize(name, false))
	return nil
}
