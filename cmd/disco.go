package cmd

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type discoOptions struct {
	f *Factory

	JID   string // "" = the account's server
	Node  string
	Items bool
}

func newDiscoCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "disco",
		Short: "Service discovery (XEP-0030): what a server, service or contact supports",
		Long: `Ask an XMPP entity what it is and what it supports (XEP-0030 Service
Discovery): the server, one of its services (upload, conference, proxy), a
contact's account (bare JID) or one of the contact's online clients (full
JID).`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return &UsageError{Err: fmt.Errorf("disco needs a subcommand: query"), Hint: "see xmppctl disco --help"}
		},
	}
	c.AddCommand(newDiscoQueryCmd(f))
	return c
}

func newDiscoQueryCmd(f *Factory) *cobra.Command {
	opts := &discoOptions{f: f}
	c := &cobra.Command{
		Use:   "query [--node NODE] [--items] [JID]",
		Short: "Show an entity's identities, features and forms, or its items",
		Long: `Show what JID (default: the account's server) says about itself: its
identities, its features (each with the specification that defines it, when
known) and its extended-information forms (XEP-0128), such as the upload
service's max-file-size. With --items, list the entities and nodes it
offers instead (XEP-0030 disco#items, following XEP-0059 pages).

The server's answer is checked against the entity capabilities hash in its
stream features (XEP-0115) and kept in the data directory, so asking again
costs no query while the server's features are unchanged.

--json prints one object:
  {"jid","node","identities":[{"category","type","name","lang"}],
   "features":[...],"forms":[{"type","FORM_TYPE","fields":{VAR:[VALUES]}}]}
and with --items {"jid","node","items":[{"jid","node","name"}]}.

An error from the entity (item-not-found, service-unavailable,
remote-server-not-found, ...) exits with status 5 and names the condition.`,
		Example: `  xmppctl disco query
  xmppctl disco query upload.example.org
  xmppctl disco query --items
  xmppctl disco query --items --node http://jabber.org/protocol/commands example.org
  xmppctl disco query bob@example.org/phone
  xmppctl disco query --json conference.example.org | jq -r '.features[]'`,
		Args: maxArgs(1),
		RunE: optionalArg(opts, &opts.JID, runDiscoQuery),
	}
	c.Flags().StringVar(&opts.Node, "node", "", "query this node of the entity")
	c.Flags().BoolVar(&opts.Items, "items", false, "list the entity's items (disco#items) instead")
	return c
}

// discoInfoJSON is the --json shape of disco#info.
type discoInfoJSON struct {
	JID        string           `json:"jid"`
	Node       string           `json:"node"`
	Identities []disco.Identity `json:"identities"`
	Features   []string         `json:"features"`
	Forms      []discoFormJSON  `json:"forms"`
}

type discoFormJSON struct {
	Type     string              `json:"type"`
	FormType string              `json:"FORM_TYPE"`
	Fields   map[string][]string `json:"fields"`
}

type discoItemsJSON struct {
	JID   string       `json:"jid"`
	Node  string       `json:"node"`
	Items []disco.Item `json:"items"`
}

func runDiscoQuery(ctx context.Context, opts *discoOptions) error {
	f := opts.f
	if opts.JID != "" {
		j, err := jid.Parse(strings.TrimSpace(opts.JID))
		if err != nil {
			return usageErrorf("invalid JID %q: %v", opts.JID, err)
		}
		opts.JID = j.String()
	}
	s, _, err := f.Session(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	target := opts.JID
	if target == "" {
		target = s.Domain()
	}
	qctx, cancel := f.WithTimeout(ctx)
	defer cancel()
	if opts.Items {
		items, err := disco.GetItems(qctx, s, target, opts.Node)
		if err != nil {
			return err
		}
		return renderDiscoItems(f, discoItemsJSON{JID: target, Node: opts.Node, Items: items})
	}
	info, err := discoInfo(qctx, f, s, target, opts.Node)
	if err != nil {
		return err
	}
	return renderDiscoInfo(f, info)
}

// discoInfo asks for disco#info. The server's own info goes through the
// caps cache when its stream features carried a hash: verified answers
// are reused across runs, and a mismatch is reported and not cached.
func discoInfo(ctx context.Context, f *Factory, s conn.Session, target, node string) (*disco.Info, error) {
	if target == s.Domain() && node == "" {
		if li, ok := s.(conn.LoginInfo); ok {
			if c1, c2 := serverCaps(li); c1 != nil || c2 != nil {
				r := &caps.Resolver{S: s, Store: caps.Store{Dir: filepath.Join(f.DataDir(), "caps")}}
				res, err := r.Lookup(ctx, target, c1, c2)
				if err != nil {
					return nil, err
				}
				switch res.Status {
				case caps.Mismatch:
					f.Warnf("the server's disco#info does not match its advertised capabilities: %v", res.Err)
				default:
					f.Infof("capabilities %s %s: %s", res.Algo, res.Hash, res.Status)
				}
				res.Info.Node = ""
				return res.Info, nil
			}
		}
	}
	return disco.GetInfo(ctx, s, target, node)
}

// serverCaps returns the caps of the last stream features that had any.
func serverCaps(li conn.LoginInfo) (*caps.Caps, *caps.Caps2) {
	feats := li.StreamFeatures()
	for i := len(feats) - 1; i >= 0; i-- {
		c1, c2, err := caps.FromFeatures(feats[i])
		if err == nil && (c1 != nil || c2 != nil) {
			return c1, c2
		}
	}
	return nil, nil
}

func discoJSON(info *disco.Info) discoInfoJSON {
	out := discoInfoJSON{JID: info.JID, Node: info.Node, Identities: info.Identities, Features: info.Features,
		Forms: []discoFormJSON{}}
	if out.Identities == nil {
		out.Identities = []disco.Identity{}
	}
	if out.Features == nil {
		out.Features = []string{}
	}
	for _, fm := range info.Forms {
		jf := discoFormJSON{Type: fm.Type, FormType: fm.FormType(), Fields: map[string][]string{}}
		for _, fl := range fm.Fields {
			if fl.Var == "FORM_TYPE" || fl.Var == "" {
				continue
			}
			vals := fl.Values
			if vals == nil {
				vals = []string{}
			}
			jf.Fields[fl.Var] = append(jf.Fields[fl.Var], vals...)
		}
		out.Forms = append(out.Forms, jf)
	}
	return out
}

func renderDiscoInfo(f *Factory, info *disco.Info) error {
	if f.Global.JSON {
		return f.PrintJSON(discoJSON(info))
	}
	w := f.IO.Out
	clean := func(s string) string { return term.Sanitize(s, false) }
	fmt.Fprintf(w, "JID: %s\n", clean(info.JID))
	if info.Node != "" {
		fmt.Fprintf(w, "Node: %s\n", clean(info.Node))
	}
	fmt.Fprintln(w, "Identities:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, id := range info.Identities {
		name := clean(id.Name)
		if id.Lang != "" {
			name += " [" + clean(id.Lang) + "]"
		}
		fmt.Fprintf(tw, "  %s/%s\t%s\n", clean(id.Category), clean(id.Type), name)
	}
	tw.Flush()
	fmt.Fprintln(w, "Features:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, feat := range info.Features {
		fmt.Fprintf(tw, "  %s\t%s\n", clean(feat), disco.FeatureName(feat))
	}
	tw.Flush()
	if len(info.Forms) > 0 {
		fmt.Fprintln(w, "Forms:")
		for _, fm := range info.Forms {
			renderForm(w, fm, clean)
		}
	}
	return nil
}

func renderForm(w io.Writer, fm disco.Form, clean func(string) string) {
	ft := fm.FormType()
	label := clean(ft)
	if name := disco.FeatureName(ft); name != "" {
		label += " (" + name + ")"
	}
	if label == "" {
		label = "(no FORM_TYPE)"
	}
	fmt.Fprintf(w, "  %s\n", label)
	for _, fl := range fm.Fields {
		if fl.Var == "FORM_TYPE" {
			continue
		}
		vals := make([]string, len(fl.Values))
		for i, v := range fl.Values {
			vals[i] = clean(v)
		}
		fmt.Fprintf(w, "    %s: %s\n", clean(fl.Var), strings.Join(vals, ", "))
	}
}

func renderDiscoItems(f *Factory, res discoItemsJSON) error {
	if res.Items == nil {
		res.Items = []disco.Item{}
	}
	if f.Global.JSON {
		return f.PrintJSON(res)
	}
	if len(res.Items) == 0 {
		if !f.Global.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "%s has no items\n", term.Sanitize(res.JID, false))
		}
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	for _, it := range res.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", term.Sanitize(it.JID, false), term.Sanitize(it.Node, false), term.Sanitize(it.Name, false))
	}
	return tw.Flush()
}
