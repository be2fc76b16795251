package cmd

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/compliance"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type checkOptions struct {
	f      *Factory
	Domain string // "" = the account's server
}

func newCheckCmd(f *Factory) *cobra.Command {
	opts := &checkOptions{f: f}
	return &cobra.Command{
		Use:   "check [DOMAIN]",
		Short: "Report which modern client features a server supports",
		Long: `Check the account's server (or DOMAIN) against what modern XMPP clients
expect, like the public compliance testers: DNS SRV records and direct TLS
(XEP-0368), TLS, SASL mechanisms with channel binding (-PLUS), SASL2, Bind2
and FAST, stream management, CSI, carbons, message archives for the account
and for group chats, blocking, PEP with publish options and access models,
avatars and vCards (XEP-0084, XEP-0054, XEP-0292, XEP-0398), bookmarks,
HTTP upload with its size limit, the SOCKS5 proxy, the group chat service,
STUN/TURN discovery and push. Each line says supported, partial, missing or
unknown, names the specification and, when something is missing, what that
means for the user.

The facts come from the stream features the server sent while xmppctl
logged in, a short separate TLS connection that only reads the server's
features (for the TLS version, and for a DOMAIN other than the account's),
and service discovery. Checking another DOMAIN goes through the account's
server (federation); account features (archive, PEP, push) are then unknown.

The exit status is 0 whenever the check could run, whatever it found; use
--json and jq to fail a script on a missing feature.`,
		Example: `  xmppctl check
  xmppctl check example.org
  xmppctl check --json | jq -r '.results[] | select(.status=="missing") | .feature'`,
		Args: maxArgs(1),
		RunE: optionalArg(opts, &opts.Domain, runCheck),
	}
}

func runCheck(ctx context.Context, opts *checkOptions) error {
	f := opts.f
	if opts.Domain != "" {
		j, err := jid.Parse(strings.TrimSpace(opts.Domain))
		if err != nil || j.Localpart() != "" || j.Resourcepart() != "" {
			return usageErrorf("invalid domain %q: want a server name like example.org", opts.Domain)
		}
		opts.Domain = j.Domainpart()
	}
	s, acct, err := f.Session(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	domain := opts.Domain
	if domain == "" {
		domain = s.Domain()
	}
	tlsConf, err := conn.TLSPolicy{CAFile: acct.CAFile, Pin: acct.Pin, Insecure: f.Global.Insecure}.Config(domain)
	if err != nil {
		return err
	}
	facts, err := compliance.Gather(ctx, compliance.Options{
		Domain: domain, Session: s, Explicit: acct.Server != "", TLSConfig: tlsConf,
		Caps: caps.Store{Dir: filepath.Join(f.DataDir(), "caps")}, Timeout: f.Global.Timeout,
	})
	if err != nil {
		return err
	}
	rep := compliance.Evaluate(facts)
	if f.Global.JSON {
		return f.PrintJSON(rep)
	}
	renderCheck(f, rep)
	return nil
}

func renderCheck(f *Factory, rep compliance.Report) {
	w := f.IO.Out
	clean := func(s string) string { return term.Sanitize(s, false) }
	title := clean(rep.Domain)
	if rep.Software != "" {
		title += " (" + clean(rep.Software) + ")"
	}
	fmt.Fprintf(w, "Server: %s\n", title)
	if rep.Connected != "" {
		fmt.Fprintf(w, "Connected: %s\n", clean(rep.Connected))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AREA\tFEATURE\tXEP\tSTATUS\tDETAIL")
	counts := map[compliance.Status]int{}
	for _, r := range rep.Results {
		counts[r.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Area, r.Feature, r.XEP, r.Status, clean(r.Detail))
	}
	tw.Flush()
	var missing []compliance.Result
	for _, r := range rep.Results {
		if r.Impact != "" && r.Status != compliance.Unknown {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintln(w, "\nWhat is missing means:")
		for _, r := range missing {
			fmt.Fprintf(w, "  %s (%s): %s\n", r.Feature, r.XEP, r.Impact)
		}
	}
	fmt.Fprintf(w, "\n%d supported, %d partial, %d missing, %d unknown\n",
		counts[compliance.Supported], counts[compliance.Partial], counts[compliance.Missing], counts[compliance.Unknown])
}
