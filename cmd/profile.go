package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/avatar"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/nick"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/term"
	"github.com/xmppctl/xmppctl/pkg/vcard"
)

type profileOptions struct {
	f *Factory

	Action     string // set, get, visibility
	JID        string
	Access     string
	Visibility string
	// Fields changed by set, by vCard4 property name; an empty value
	// removes the property.
	Fields map[string][]string
}

// profileFlag ties a `profile set` flag to a vCard4 property.
var profileFlags = []struct{ flag, prop, help string }{
	{"fn", "fn", "full name"},
	{"nickname", "nickname", "nickname in the profile (the chat nickname is xmppctl nick)"},
	{"note", "note", "a note about yourself"},
	{"org", "org", "organisation"},
	{"title", "title", "job title"},
	{"bday", "bday", "birthday, YYYY-MM-DD"},
	{"url", "url", "web page (repeat for several)"},
	{"email", "email", "email address (repeat for several)"},
	{"tel", "tel", "phone number (repeat for several)"},
}

func newProfileCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "profile",
		Short: "Publish or read a vCard4 profile and set who sees it (XEP-0292)",
		Long: `Manage the account's profile, a vCard4 published on the personal eventing
service (XEP-0292), and the visibility of the whole public face of the
account.

set changes only the fields given (an empty value removes a field) and
keeps the others, including ones xmppctl does not know. get prints a
profile (default: the account's own).

visibility is one setting for the avatar, the nickname and the profile:
  contacts            everything visible to contacts only (the default)
  public-avatar-nick  avatar and nickname public, profile contacts only
  public              everything public
Without an argument it prints the current setting.`,
		Example: `  xmppctl profile set --fn "Alice Liddell" --email alice@example.org --url https://alice.example
  xmppctl profile set --note ""
  xmppctl profile get bob@example.org --json
  xmppctl profile visibility public-avatar-nick`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return &UsageError{Err: errors.New("profile needs a subcommand: set, get or visibility"), Hint: "see xmppctl profile --help"}
		},
	}

	set := &profileOptions{f: f, Action: "set"}
	vals := map[string]*[]string{}
	setCmd := &cobra.Command{
		Use:     "set --FIELD VALUE...",
		Short:   "Change fields of the account's vCard4 profile",
		Example: `  xmppctl profile set --fn "Alice Liddell" --org Wonderland --tel "+44 20 7946 0000"`,
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			set.Fields = map[string][]string{}
			for _, pf := range profileFlags {
				if c.Flags().Changed(pf.flag) {
					set.Fields[pf.prop] = *vals[pf.flag]
				}
			}
			return runProfile(c.Context(), set)
		},
	}
	for _, pf := range profileFlags {
		v := new([]string)
		vals[pf.flag] = v
		setCmd.Flags().StringArrayVar(v, pf.flag, nil, pf.help)
	}
	setCmd.Flags().StringVar(&set.Access, "access", "", accessFlagHelp)

	get := &profileOptions{f: f, Action: "get"}
	getCmd := &cobra.Command{
		Use:     "get [JID]",
		Short:   "Print a vCard4 profile (default: the account's own)",
		Example: "  xmppctl profile get bob@example.org",
		Args:    maxArgs(1),
		RunE:    optionalArg(get, &get.JID, runProfile),
	}

	vis := &profileOptions{f: f, Action: "visibility"}
	visCmd := &cobra.Command{
		Use:   "visibility [contacts|public-avatar-nick|public]",
		Short: "Set (or print) who sees the avatar, nickname and profile",
		Example: `  xmppctl profile visibility
  xmppctl profile visibility public`,
		Args: maxArgs(1),
		RunE: optionalArg(vis, &vis.Visibility, runProfile),
	}
	c.AddCommand(setCmd, getCmd, visCmd)
	return c
}

func runProfile(ctx context.Context, opts *profileOptions) error {
	switch opts.Action {
	case "set":
		return runProfileSet(ctx, opts)
	case "get":
		return runProfileGet(ctx, opts)
	}
	return runProfileVisibility(ctx, opts)
}

// checkProfileFields validates the values of `profile set` before
// connecting.
func checkProfileFields(fields map[string][]string) error {
	if len(fields) == 0 {
		return usageErrorf("profile set needs at least one field flag (--fn, --note, --email, ...)")
	}
	for prop, vs := range fields {
		f, _ := vcard.FieldByName(prop)
		if !f.Multi && len(vs) > 1 {
			return usageErrorf("--%s given %d times: it takes one value", prop, len(vs))
		}
		for _, v := range vs {
			v = strings.TrimSpace(v)
			switch {
			case v == "":
			case prop == "bday":
				if _, err := time.Parse("2006-01-02", v); err != nil {
					return usageErrorf("invalid --bday %q: want YYYY-MM-DD", v)
				}
			case prop == "email" && !strings.Contains(v, "@"):
				return usageErrorf("invalid --email %q", v)
			case prop == "url" && !strings.Contains(v, ":"):
				return usageErrorf("invalid --url %q: want an absolute URL such as https://example.org/", v)
			}
		}
	}
	return nil
}

func runProfileSet(ctx context.Context, opts *profileOptions) error {
	f := opts.f
	flagModel, err := parseAccessFlag(opts.Access)
	if err != nil {
		return err
	}
	if err := checkProfileFields(opts.Fields); err != nil {
		return err
	}
	wctx, s, acct, info, end, err := f.loginPEP(ctx)
	if err != nil {
		return err
	}
	defer end()
	card, err := vcard.Get(wctx, s, "")
	if errors.Is(err, vcard.ErrNone) {
		card, err = &vcard.Card{}, nil
	}
	if err != nil {
		return err
	}
	for _, fd := range vcard.Fields { // in a fixed order
		if vs, ok := opts.Fields[fd.Name]; ok {
			card.Set(fd, vs...)
		}
	}
	model, err := chooseAccess(wctx, s, flagModel, vcard.Node4)
	if err != nil {
		return err
	}
	if err := vcard.Publish(wctx, s, card, pepOptions(info, model)); err != nil {
		return err
	}
	p := card.Profile()
	p.JID = acct.JID
	return f.Done(struct {
		vcard.Profile
		Access string `json:"access"`
	}{p, string(model)}, "published profile, visible to %s (access %s)", describeAccess(model), model)
}

func runProfileGet(ctx context.Context, opts *profileOptions) error {
	f := opts.f
	jid, err := peerJID(opts.JID)
	if err != nil {
		return err
	}
	card, jid, err := getPeer(ctx, f, jid, "profile", vcard.ErrNone, vcard.Get)
	if err != nil {
		return err
	}
	p := card.Profile()
	p.JID = jid
	if f.Global.JSON {
		return f.PrintJSON(p)
	}
	printProfile(f, p)
	return nil
}

func printProfile(f *Factory, p vcard.Profile) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(f.IO.Out, "%-9s %s\n", k+":", term.Sanitize(v, false))
		}
	}
	line("jid", p.JID)
	line("fn", p.FN)
	line("nickname", p.Nickname)
	line("org", p.Org)
	line("title", p.Title)
	line("bday", p.Bday)
	for _, v := range p.Emails {
		line("email", v)
	}
	for _, v := range p.Tels {
		line("tel", v)
	}
	for _, v := range p.URLs {
		line("url", v)
	}
	line("note", p.Note)
}

func runProfileVisibility(ctx context.Context, opts *profileOptions) error {
	f := opts.f
	var want vcard.Visibility
	if opts.Visibility != "" {
		v, err := vcard.ParseVisibility(opts.Visibility)
		if err != nil {
			return &UsageError{Err: err}
		}
		want = v
	}
	wctx, s, _, _, end, err := f.loginPEP(ctx)
	if err != nil {
		return err
	}
	defer end()
	if want != "" {
		if err := vcard.SetVisibility(wctx, s, want); err != nil {
			return err
		}
	}
	got, nodes, err := vcard.GetVisibility(wctx, s)
	if err != nil {
		return err
	}
	if want != "" && got != want {
		return fmt.Errorf("visibility is %q after setting %q: the server did not apply every access model", got, want)
	}
	name := string(got)
	if name == "" {
		name = "custom"
	}
	res := struct {
		Visibility string             `json:"visibility"`
		Nodes      []vcard.NodeAccess `json:"nodes"`
	}{name, nodes}
	if want != "" {
		an, prof := want.Models()
		return f.Done(res, "visibility set to %s: avatar and nickname visible to %s, profile to %s",
			want, describeAccess(an), describeAccess(prof))
	}
	if f.Global.JSON {
		return f.PrintJSON(res)
	}
	fmt.Fprintln(f.IO.Out, name)
	for _, n := range nodes {
		f.Infof("  %-40s %s", n.Node, n.Access)
	}
	return nil
}

// What avatar, nick and profile share: checking the account's PEP service
// and choosing the access model to publish with.

const accessFlagHelp = "who may see it: open (anyone), presence (contacts), roster or whitelist (only you) " +
	"(default: keep the node's current model; presence for a new one)"

// avatarGroup is the nodes that always share one access model, in the
// order chooseAccess consults them (the avatar's before the nickname's).
var avatarGroup = []string{avatar.NSMetadata, avatar.NSData, nick.NS}

// pepService checks that the account has a PEP service and returns the
// account's disco#info (for publish-options and XEP-0398 checks).
func pepService(ctx context.Context, s conn.Session) (*disco.Info, error) {
	bare, _, _ := strings.Cut(s.JID(), "/")
	info, err := disco.GetInfo(ctx, s, bare, "")
	if err != nil {
		return nil, err
	}
	if !info.HasIdentity("pubsub", "pep") {
		return nil, &RemoteError{Err: errors.New("the server offers no personal eventing service (XEP-0163 PEP) for this account"),
			Hint: "avatars, nicknames and profiles need PEP; ask the server's operator to enable it (Prosody: mod_pep)"}
	}
	return info, nil
}

// pepOptions returns the publish options for model on this service.
func pepOptions(info *disco.Info, model pep.AccessModel) pep.Options {
	return pep.Options{Access: model, NoPublishOptions: !info.HasFeature(pep.FeatureOptions)}
}

// parseAccessFlag validates --access before connecting ("" = not given).
func parseAccessFlag(v string) (pep.AccessModel, error) {
	if v == "" {
		return "", nil
	}
	m, err := pep.ParseAccessModel(v)
	if err != nil {
		return "", &UsageError{Err: err}
	}
	return m, nil
}

// chooseAccess returns the model to publish with: the flag's, else the
// current model of the first existing node among nodes, else presence.
func chooseAccess(ctx context.Context, s conn.Session, flag pep.AccessModel, nodes ...string) (pep.AccessModel, error) {
	if flag != "" {
		return flag, nil
	}
	for _, node := range nodes {
		m, err := pep.Access(ctx, s, node)
		if pep.IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		return m, nil
	}
	return pep.Presence, nil
}

// alignAccess gives the other nodes of a group the model just published
// with, when they exist (the avatar's data and metadata nodes and the
// nickname node always share one model).
func alignAccess(ctx context.Context, s conn.Session, model pep.AccessModel, nodes ...string) error {
	for _, node := range nodes {
		if _, err := pep.SetAccessIfExists(ctx, s, node, model); err != nil {
			return err
		}
	}
	return nil
}

// describeAccess says in words who can see something published under m.
func describeAccess(m pep.AccessModel) string {
	switch m {
	case pep.Open:
		return "anyone"
	case pep.Presence:
		return "your contacts"
	case pep.Roster:
		return "contacts in allowed roster groups"
	case pep.Whitelist:
		return "only you (and JIDs you whitelist)"
	}
	return string(m)
}

// peerRefusal adds a hint to an access refusal when reading someone's
// PEP node: Prosody says forbidden; ejabberd, as XEP-0060 §6.5.9 has it,
// not-authorized for the presence model and not-allowed (closed-node) for
// a whitelist.
func peerRefusal(err error, jid, what string) error {
	var se *stanza.Error
	if errors.As(err, &se) && (se.Condition == stanza.Forbidden || se.Condition == stanza.NotAuthorized || se.Condition == stanza.NotAllowed ||
		se.Condition == pep.PresenceSubscriptionRequired || se.Condition == pep.NotInRosterGroup) {
		return &RemoteError{Err: err, Hint: jid + " shares the " + what + " only with contacts or selected JIDs"}
	}
	return err
}

// peerJID validates an optional JID argument naming whose PEP node to
// read: a bare JID; "" means the account itself.
func peerJID(arg string) (string, error) {
	if arg == "" {
		return "", nil
	}
	js, err := parseJIDs([]string{arg}, false)
	if err != nil {
		return "", err
	}
	if strings.Contains(js[0], "/") {
		return "", usageErrorf("invalid JID %q: want a bare JID (user@domain)", arg)
	}
	return js[0], nil
}

// getPeer logs in and reads what someone (jid, validated by peerJID; ""
// means the account itself) published, with get. It returns the JID it
// read from. Nothing published is a remote error naming the JID, and a
// refusal gets peerRefusal's hint about what.
func getPeer[T any](ctx context.Context, f *Factory, jid, what string, none error,
	get func(context.Context, conn.Session, string) (T, error)) (T, string, error) {
	var zero T
	wctx, s, acct, end, err := f.login(ctx)
	if err != nil {
		return zero, jid, err
	}
	defer end()
	if jid == "" {
		jid = acct.JID
	}
	v, err := get(wctx, s, jid)
	if errors.Is(err, none) {
		return zero, jid, &RemoteError{Err: fmt.Errorf("%s: %w", jid, err)}
	}
	if err != nil {
		return zero, jid, peerRefusal(err, jid, what)
	}
	return v, jid, nil
}
