package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/bookmarks"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type bookmarksOptions struct {
	f *Factory

	Action   string
	Room     string
	Name     string
	Nick     string
	Autojoin bool
	Password bool
}

func newBookmarksCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "bookmarks",
		Short: "List, add and remove the account's room bookmarks (XEP-0402)",
		Long: `Manage the rooms the account keeps as bookmarks (XEP-0402 PEP Native Bookmarks,
node urn:xmpp:bookmarks:1), which your other clients show and join. The node
is readable by the account alone (access model whitelist); xmppctl creates it
so (or makes it so) before it stores anything there.

"listen --bookmarks" joins the rooms whose bookmark has autojoin.`,
		Example: `  xmppctl bookmarks list
  xmppctl bookmarks add ops@conference.example.org --name Ops --nick bot --autojoin
  xmppctl bookmarks remove ops@conference.example.org
  xmppctl bookmarks list --json | jq -r '.[] | select(.autojoin) | .room'`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return &UsageError{Err: errors.New("bookmarks needs a subcommand: list, add or remove"), Hint: "see xmppctl bookmarks --help"}
		},
	}
	list := &cobra.Command{Use: "list", Short: "Print the bookmarks (--json: an array)",
		Long: `Print one bookmark per line: room, autojoin, nick, name. --json prints an array of
{"room","name","nick","autojoin","password_set"} (a password is never printed).`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runBookmarks(c.Context(), &bookmarksOptions{f: f, Action: "list"})
		}}
	ao := &bookmarksOptions{f: f, Action: "add"}
	add := &cobra.Command{Use: "add ROOM", Short: "Add or replace the bookmark of a room",
		Long: `Store a bookmark for ROOM, replacing an existing one. --password stores the room
password of the config (room_password) or XMPPCTL_ROOM_PASSWORD with it.`,
		Example: "  xmppctl bookmarks add ops@conference.example.org --name Ops --autojoin",
		Args:    exactArgs(1, "give one room JID"),
		RunE: func(c *cobra.Command, args []string) error {
			ao.Room = args[0]
			return runBookmarks(c.Context(), ao)
		}}
	fl := add.Flags()
	fl.StringVar(&ao.Name, "name", "", "a name for the room")
	fl.StringVar(&ao.Nick, "nick", "", "the nickname to join with")
	fl.BoolVar(&ao.Autojoin, "autojoin", false, "join the room automatically (clients, listen --bookmarks)")
	fl.BoolVar(&ao.Password, "password", false, "store the configured room password in the bookmark")
	remove := &cobra.Command{Use: "remove ROOM", Short: "Remove the bookmark of a room",
		Args: exactArgs(1, "give one room JID"),
		RunE: func(c *cobra.Command, args []string) error {
			return runBookmarks(c.Context(), &bookmarksOptions{f: f, Action: "remove", Room: args[0]})
		}}
	c.AddCommand(list, add, remove)
	return c
}

func runBookmarks(ctx context.Context, opts *bookmarksOptions) error {
	f := opts.f
	if opts.Room != "" {
		r, err := parseJIDs([]string{opts.Room}, true)
		if err != nil {
			return err
		}
		if !strings.Contains(r[0], "@") {
			return usageErrorf("invalid room %q: want room@service", opts.Room)
		}
		opts.Room = r[0]
	}
	acct, err := roomAccount(f, opts.Password)
	if err != nil {
		return err
	}
	wctx, s, end, err := f.loginAs(ctx, acct)
	if err != nil {
		return err
	}
	defer end()
	switch opts.Action {
	case "list":
		bms, err := bookmarks.List(wctx, s)
		if err != nil {
			return err
		}
		if f.Global.JSON {
			if bms == nil {
				bms = []bookmarks.Bookmark{}
			}
			return f.PrintJSON(bms)
		}
		for _, b := range bms {
			auto := "-"
			if b.Autojoin {
				auto = "autojoin"
			}
			fmt.Fprintln(f.IO.Out, term.Sanitize(strings.TrimSpace(fmt.Sprintf("%s  %s  %s  %s", b.Room, auto, b.Nick, b.Name)), false))
		}
		return nil
	case "add":
		b := bookmarks.Bookmark{Room: opts.Room, Name: opts.Name, Nick: opts.Nick, Autojoin: opts.Autojoin}
		if opts.Password {
			b.Password = acct.RoomPassword
		}
		if err := bookmarks.Add(wctx, s, b); err != nil {
			return err
		}
		return f.Done(map[string]any{"room": b.Room, "status": "bookmarked", "autojoin": b.Autojoin}, "bookmarked %s", b.Room)
	case "remove":
		if err := bookmarks.Remove(wctx, s, opts.Room); err != nil {
			return err
		}
		return f.Done(map[string]string{"room": opts.Room, "status": "removed"}, "removed the bookmark of %s", opts.Room)
	}
	return fmt.Errorf("unknown bookmarks action %q", opts.Action)
}
