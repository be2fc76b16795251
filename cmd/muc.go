package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/muc"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type mucOptions struct {
	f *Factory

	Action string
	Args   []string

	Nick         string
	Name         string
	Description  string
	Persistent   bool
	MembersOnly  bool
	NonAnonymous bool
	Public       bool
	Password     bool
	Reconfigure  bool
	Reason       string
	set          func(name string) bool // whether a flag was given
}

func newMucCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "muc",
		Short: "Inspect, create and administer group chats (XEP-0045)",
		Long: `Group chat rooms (XEP-0045 Multi-User Chat): read a room's information, list a
service's public rooms, create and configure rooms, invite people (XEP-0249
direct invitations), manage affiliations, set the subject, destroy rooms.

Errors from the room (forbidden, conflict, not-authorized, item-not-found, ...)
exit with status 5 and name the condition. Room passwords come from the config
(room_password) or XMPPCTL_ROOM_PASSWORD, never from the command line.`,
		Example: `  xmppctl muc info ops@conference.example.org --json
  xmppctl muc create ops@conference.example.org --name Ops --persistent --members-only
  xmppctl muc invite ops@conference.example.org alice@example.org
  xmppctl muc affiliation ops@conference.example.org alice@example.org member`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return &UsageError{Err: errors.New("muc needs a subcommand: info, list, create, invite, members, affiliation, subject or destroy"),
				Hint: "see xmppctl muc --help"}
		},
	}
	sub := func(use, short, long, example, action string, args cobra.PositionalArgs) (*cobra.Command, *mucOptions) {
		opts := &mucOptions{f: f, Action: action}
		cc := &cobra.Command{Use: use, Short: short, Long: long, Example: example, Args: args,
			RunE: func(c *cobra.Command, args []string) error {
				opts.Args = args
				opts.set = func(n string) bool { return c.Flags().Changed(n) }
				return runMuc(c.Context(), opts)
			}}
		return cc, opts
	}
	info, _ := sub("info ROOM", "Show a room's name, description, features, occupants and subject",
		`Ask the room for its service discovery information and print its name,
description, features (members-only, moderated, non-anonymous, persistent,
password-protected, ...), number of occupants and subject. --json prints one
object: {"jid","name","description","subject","occupants","features"}
(occupants is -1 when the room does not say).`,
		"  xmppctl muc info ops@conference.example.org", "info", exactArgs(1, "give one room JID"))
	list, _ := sub("list SERVICE", "List the public rooms of a MUC service",
		"Print the public rooms of a service, one per line (JID, then name); --json prints an array of {\"jid\",\"name\"}.",
		"  xmppctl muc list conference.example.org", "list", exactArgs(1, "give one MUC service JID"))
	create, co := sub("create ROOM", "Create and configure a room (owner configuration, XEP-0004 form)",
		`Create ROOM with you as its owner and submit its configuration. A room that
already exists is left alone (exit status 5) unless --reconfigure is given,
which changes the given settings of a room you own. Settings not given keep the
service's defaults. --password protects the room with the room password of the
config (room_password) or XMPPCTL_ROOM_PASSWORD.`,
		"  xmppctl muc create ops@conference.example.org --name Ops --description 'deploys' --persistent --members-only",
		"create", exactArgs(1, "give one room JID"))
	fl := create.Flags()
	fl.StringVar(&co.Nick, "nick", "", "nickname while creating (default: config nick, else the account's local part)")
	fl.StringVar(&co.Name, "name", "", "the room's name")
	fl.StringVar(&co.Description, "description", "", "the room's description")
	fl.BoolVar(&co.Persistent, "persistent", false, "keep the room when the last occupant leaves")
	fl.BoolVar(&co.MembersOnly, "members-only", false, "only members may enter")
	fl.BoolVar(&co.NonAnonymous, "non-anonymous", false, "every occupant sees the real JIDs of the others")
	fl.BoolVar(&co.Public, "public", false, "list the room in the service's public room list")
	fl.BoolVar(&co.Password, "password", false, "protect the room with the configured room password")
	fl.BoolVar(&co.Reconfigure, "reconfigure", false, "configure the room even if it already exists (you must own it)")
	invite, io := sub("invite ROOM JID...", "Invite people to a room (XEP-0249 direct invitation)",
		`Send each JID a direct invitation to ROOM; with --password it carries the room
password of the config (room_password) or XMPPCTL_ROOM_PASSWORD. The server
acknowledges the invitations before xmppctl exits 0. --json prints
{"jid","status":"sent"} per invitee.`,
		"  xmppctl muc invite ops@conference.example.org alice@example.org bob@example.org", "invite",
		minArgs(2))
	invite.Flags().StringVar(&io.Reason, "reason", "", "a message sent with the invitation")
	invite.Flags().BoolVar(&io.Password, "password", false, "include the configured room password in the invitation")
	members, _ := sub("members ROOM", "List a room's owners, admins and members",
		"Print JID, affiliation and reserved nick of each owner, admin and member (admins and owners only); --json prints an array.",
		"  xmppctl muc members ops@conference.example.org", "members", exactArgs(1, "give one room JID"))
	aff, ao := sub("affiliation ROOM JID member|admin|owner|none|outcast", "Change someone's affiliation with a room",
		"Give JID the affiliation in ROOM (outcast bans, none removes). Admins and owners only.",
		"  xmppctl muc affiliation ops@conference.example.org alice@example.org member", "affiliation",
		exactArgs(3, "give ROOM, JID and an affiliation"))
	aff.Flags().StringVar(&ao.Reason, "reason", "", "the reason, shown to the person")
	subject, so := sub("subject ROOM TEXT", "Set a room's subject",
		"Join ROOM, set its subject to TEXT, wait until the room confirms it and leave.",
		"  xmppctl muc subject ops@conference.example.org 'deploy freeze until Monday'", "subject",
		exactArgs(2, "give ROOM and the subject text"))
	subject.Flags().StringVar(&so.Nick, "nick", "", "nickname while in the room (default: config nick, else the account's local part)")
	destroy, do := sub("destroy ROOM", "Destroy a room (owners only)",
		"Destroy ROOM; its occupants are told the --reason.",
		"  xmppctl muc destroy ops@conference.example.org --reason 'moved to dev@'", "destroy",
		exactArgs(1, "give one room JID"))
	destroy.Flags().StringVar(&do.Reason, "reason", "", "the reason shown to the occupants")
	c.AddCommand(info, list, create, invite, members, aff, subject, destroy)
	return c
}

func runMuc(ctx context.Context, opts *mucOptions) error {
	f := opts.f
	if opts.Action == "list" {
		if _, err := parseJIDs(opts.Args[:1], true); err != nil {
			return err
		}
	} else {
		room, err := parseJIDs(opts.Args[:1], true)
		if err != nil {
			return err
		}
		if !strings.Contains(room[0], "@") {
			return usageErrorf("invalid room %q: want room@service", opts.Args[0])
		}
		opts.Args[0] = room[0]
	}
	var aff muc.Affiliation
	switch opts.Action {
	case "invite":
		if _, err := parseJIDs(opts.Args[1:], false); err != nil {
			return err
		}
	case "affiliation":
		j, err := parseJIDs(opts.Args[1:2], false)
		if err != nil {
			return err
		}
		opts.Args[1] = j[0]
		if aff, err = muc.ParseAffiliation(opts.Args[2]); err != nil {
			return &UsageError{Err: err}
		}
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
	room := opts.Args[0]
	nick := roomNick(opts.Nick, acct.Nick, acct.JID)
	switch opts.Action {
	case "info":
		i, err := muc.GetInfo(wctx, s, room)
		if err != nil {
			return err
		}
		return renderRoomInfo(f, i)
	case "list":
		var rooms []muc.Room
		err := muc.List(wctx, s, room, func(r muc.Room) error {
			if f.Global.JSON {
				rooms = append(rooms, r)
				return nil
			}
			_, err := fmt.Fprintln(f.IO.Out, term.Sanitize(strings.TrimSpace(r.JID+"  "+r.Name), false))
			return err
		})
		if err != nil {
			return err
		}
		if f.Global.JSON {
			if rooms == nil {
				rooms = []muc.Room{}
			}
			return f.PrintJSON(rooms)
		}
		return nil
	case "create":
		return runMucCreate(wctx, f, s, opts, room, nick, acct.RoomPassword)
	case "invite":
		pw := ""
		if opts.Password {
			pw = acct.RoomPassword
		}
		if err := muc.Invite(wctx, s, room, pw, opts.Reason, opts.Args[1:]...); err != nil {
			return err
		}
		for _, j := range opts.Args[1:] {
			if f.Global.JSON {
				_ = f.PrintJSON(map[string]string{"jid": j, "status": "sent"})
			} else {
				f.Infof("invited %s to %s", j, room)
			}
		}
		return nil
	case "members":
		all := []muc.Member{}
		for _, a := range []muc.Affiliation{muc.AffOwner, muc.AffAdmin, muc.AffMember} {
			ms, err := muc.Affiliations(wctx, s, room, a)
			if err != nil {
				return err
			}
			all = append(all, ms...)
		}
		if f.Global.JSON {
			return f.PrintJSON(all)
		}
		for _, m := range all {
			fmt.Fprintln(f.IO.Out, term.Sanitize(strings.TrimSpace(fmt.Sprintf("%s  %s  %s", m.JID, m.Affiliation, m.Nick)), false))
		}
		return nil
	case "affiliation":
		if err := muc.SetAffiliation(wctx, s, room, opts.Args[1], aff, opts.Reason); err != nil {
			return err
		}
		return f.Done(map[string]string{"room": room, "jid": opts.Args[1], "affiliation": string(aff)},
			"%s is now %s of %s", opts.Args[1], aff, room)
	case "subject":
		if err := muc.SetSubject(wctx, s, room, nick, acct.RoomPassword, opts.Args[1]); err != nil {
			return err
		}
		return f.Done(map[string]string{"room": room, "subject": opts.Args[1]}, "subject of %s set", room)
	case "destroy":
		if err := muc.Destroy(wctx, s, room, opts.Reason); err != nil {
			return err
		}
		return f.Done(map[string]string{"room": room, "status": "destroyed"}, "%s destroyed", room)
	}
	return fmt.Errorf("unknown muc action %q", opts.Action)
}

func runMucCreate(ctx context.Context, f *Factory, s conn.Session, opts *mucOptions, room, nick, password string) error {
	var c muc.Config
	str := func(flag string, v string, dst **string) {
		if opts.set(flag) {
			*dst = &v
		}
	}
	bit := func(flag string, v bool, dst **bool) {
		if opts.set(flag) {
			*dst = &v
		}
	}
	str("name", opts.Name, &c.Name)
	str("description", opts.Description, &c.Description)
	bit("persistent", opts.Persistent, &c.Persistent)
	bit("members-only", opts.MembersOnly, &c.MembersOnly)
	bit("non-anonymous", opts.NonAnonymous, &c.NonAnonymous)
	bit("public", opts.Public, &c.Public)
	if opts.set("password") {
		if !opts.Password {
			password = ""
		}
		c.Password = &password
	}
	created, err := muc.Create(ctx, s, room, nick, c, opts.Reconfigure)
	if errors.Is(err, muc.ErrExists) {
		return &RemoteError{Err: err, Hint: "give --reconfigure to change the configuration of a room you own"}
	}
	if err != nil {
		return err
	}
	status := "reconfigured"
	if created {
		status = "created"
	}
	return f.Done(map[string]string{"room": room, "status": status}, "%s %s", room, status)
}

func renderRoomInfo(f *Factory, i muc.Info) error {
	if f.Global.JSON {
		return f.PrintJSON(i)
	}
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(f.IO.Out, "%-12s %s\n", k+":", term.Sanitize(v, false))
		}
	}
	line("room", i.JID)
	line("name", i.Name)
	line("description", i.Description)
	line("features", strings.Join(i.Features, ", "))
	if i.Occupants >= 0 {
		line("occupants", fmt.Sprint(i.Occupants))
	}
	line("subject", i.Subject)
	return nil
}

// roomAccount is the account of a room command; with --password the room
// password must be configured (room_password or XMPPCTL_ROOM_PASSWORD):
// it is never given on the command line.
func roomAccount(f *Factory, password bool) (config.Account, error) {
	acct, err := f.Account()
	if err != nil {
		return acct, err
	}
	if password && acct.RoomPassword == "" {
		return acct, &UsageError{Err: errors.New("--password: no room password configured"),
			Hint: "set room_password in the config file or XMPPCTL_ROOM_PASSWORD"}
	}
	return acct, nil
}
