package cmd

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/internal/iostreams"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/term"
)

// GlobalOptions are the persistent flags of the root command.
type GlobalOptions struct {
	Account  string
	Config   string
	DataDir  string
	Server   string
	TLS      string
	CAFile   string
	Pin      string
	Insecure bool
	Timeout  time.Duration
	JSON     bool
	Quiet    bool
	Verbose  bool
	DebugXML bool
}

// Factory is how commands reach the world; tests replace its parts.
type Factory struct {
	IO         *iostreams.IOStreams
	Getenv     func(string) string
	Dial       func(ctx context.Context, o conn.Options) (conn.Session, error)
	HTTPClient func() *http.Client
	Global     *GlobalOptions
}

// NewFactory returns the production factory.
func NewFactory(ios *iostreams.IOStreams, getenv func(string) string) *Factory {
	return &Factory{
		IO:         ios,
		Getenv:     getenv,
		Dial:       conn.Dial,
		HTTPClient: func() *http.Client { return &http.Client{} },
		Global:     &GlobalOptions{},
	}
}

// Infof prints progress for people on stderr with -v.
func (f *Factory) Infof(format string, args ...any) {
	if f.verbose() {
		fmt.Fprintf(f.IO.ErrOut, format+"\n", args...)
	}
}

// verbose reports whether Infof prints: a hot path asks first, so that
// its arguments are not boxed for nothing.
func (f *Factory) verbose() bool { return f.Global.Verbose && !f.Global.Quiet }

// Warnf prints a warning on stderr unless --quiet.
func (f *Factory) Warnf(format string, args ...any) {
	if !f.Global.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "xmppctl: warning: "+format+"\n", args...)
	}
}

// SecurityWarnf prints a warning about lowered security on stderr, even
// with --quiet: the user must never be left unaware of it.
func (f *Factory) SecurityWarnf(format string, args ...any) {
	fmt.Fprintf(f.IO.ErrOut, "xmppctl: warning: "+format+"\n", args...)
}

// DataDir is --data-dir or the XDG default.
func (f *Factory) DataDir() string {
	if f.Global.DataDir != "" {
		return f.Global.DataDir
	}
	return config.DefaultDataDir(f.Getenv)
}

// Account resolves the account from config, environment and flags, and
// validates it, without connecting and without running password_command.
func (f *Factory) Account() (config.Account, error) {
	path, optional := f.Global.Config, false
	if path == "" {
		path, optional = config.DefaultPath(f.Getenv), true
	}
	file, err := config.Load(path, optional)
	if err != nil {
		return config.Account{}, err
	}
	acct, err := file.Select(f.Global.Account)
	if err != nil {
		return acct, err
	}
	acct.ApplyEnv(f.Getenv)
	for _, o := range []struct {
		dst *string
		v   string
	}{
		{&acct.Server, f.Global.Server}, {&acct.TLS, f.Global.TLS},
		{&acct.CAFile, f.Global.CAFile}, {&acct.Pin, f.Global.Pin},
	} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	if acct.JID == "" {
		return acct, &config.Error{Msg: "no account configured",
			Hint: "set XMPPCTL_JID and XMPPCTL_PASSWORD, or write " + config.DefaultPath(f.Getenv)}
	}
	j, err := jid.Parse(acct.JID)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		return acct, &config.Error{Msg: fmt.Sprintf("invalid account JID %q: want user@domain", acct.JID)}
	}
	acct.JID = j.String()
	if acct.TLS != "" && acct.TLS != "direct" && acct.TLS != "starttls" {
		return acct, &config.Error{Msg: fmt.Sprintf("invalid tls %q: want direct or starttls", acct.TLS)}
	}
	if acct.Pin != "" {
		if _, err := conn.ParsePin(acct.Pin); err != nil {
			return acct, &config.Error{Msg: err.Error()}
		}
	}
	return acct, nil
}

// Connect logs the account in. Callers validate their own input first.
// online says whether the command must be available to others while it
// runs (listen, jingle, archive sync); every other command withdraws the
// presence go-xmpp forces on login at once (see conn.Options.Unavailable).
// ConnectOption adjusts the session options of one command.
type ConnectOption func(*conn.Options)

// watchPresence keeps the capabilities of peers' presences (go-xmpp drops
// them), for commands that choose a peer's resource by its features.
func watchPresence(o *conn.Options) { o.WatchPresence = true }

func (f *Factory) Connect(ctx context.Context, acct config.Account, online bool, opts ...ConnectOption) (conn.Session, error) {
	pctx, cancel := f.WithTimeout(ctx) // --timeout bounds password_command too
	pw, err := acct.ResolvePassword(pctx)
	cancel()
	if err != nil {
		return nil, err
	}
	if f.Global.Insecure {
		f.SecurityWarnf("--insecure: the server's certificate is NOT verified; anyone on the path can read and change this session")
	}
	maxStanza := cmp.Or(acct.MaxStanza, conn.MaxStanza)
	o := conn.Options{
		MaxStanza: maxStanza,
		OnOversize: func(from string, n int) {
			f.Warnf("ignored a stanza of %d bytes from %s: larger than the %d bytes xmppctl accepts "+
				"(hint: max_stanza in the config raises it)", n, term.Sanitize(from, false), maxStanza)
		},
		JID: acct.JID, Password: pw, Server: acct.Server, TLSMode: acct.TLS,
		TLS:         conn.TLSPolicy{CAFile: acct.CAFile, Pin: acct.Pin, Insecure: f.Global.Insecure},
		DataDir:     f.DataDir(),
		DialTimeout: f.Global.Timeout,
		Unavailable: !online,
		OnOffline: func(n int) {
			f.Warnf("%d offline message(s) waiting for %s were delivered to this session "+
				"(its library always announces presence at login); they are no longer offline "+
				"messages: read them from the server archive (xmppctl archive sync, or any MAM client)", n, acct.JID)
		},
	}
	if f.Global.DebugXML {
		o.DebugXML = f.IO.ErrOut
	}
	for _, opt := range opts {
		opt(&o)
	}
	cctx, cancel := context.WithTimeout(ctx, f.Global.Timeout)
	defer cancel()
	start := time.Now()
	s, err := f.Dial(cctx, o)
	if err != nil {
		if ctx.Err() == nil && cctx.Err() != nil {
			return nil, fmt.Errorf("connect as %s: %w", acct.JID, context.DeadlineExceeded)
		}
		return nil, err
	}
	f.Infof("connected as %s in %s", s.JID(), time.Since(start).Round(time.Millisecond))
	return s, nil
}

// Redial returns a function that logs acct in again, for commands that
// reconnect after a lost connection (the password, or password_command's
// answer, is taken from the first login: the command is not run again).
func (f *Factory) Redial(acct config.Account, online bool, opts ...ConnectOption) func(context.Context) (conn.Session, error) {
	return func(ctx context.Context) (conn.Session, error) {
		if acct.Password == "" {
			pctx, cancel := f.WithTimeout(ctx) // --timeout bounds password_command too
			pw, err := acct.ResolvePassword(pctx)
			cancel()
			if err != nil {
				return nil, err
			}
			acct.Password, acct.PasswordCommand = pw, ""
		}
		return f.Connect(ctx, acct, online, opts...)
	}
}

// Session resolves the account and logs it in: what every command does
// once its own input is valid. The caller closes the session; the account
// comes back for its defaults (own JID, TLS policy, legacy settings).
func (f *Factory) Session(ctx context.Context, online bool) (conn.Session, config.Account, error) {
	acct, err := f.Account()
	if err != nil {
		return nil, acct, err
	}
	s, err := f.Connect(ctx, acct, online)
	return s, acct, err
}

// PrintJSON writes v to stdout as one line of JSON (a JSON Lines record
// when called once per item).
func (f *Factory) PrintJSON(v any) error {
	return json.NewEncoder(f.IO.Out).Encode(v)
}

// Done reports a finished change. The change itself is the result, so
// people get a sentence on stderr (unless --quiet) and scripts get v as
// JSON on stdout with --json.
func (f *Factory) Done(v any, format string, args ...any) error {
	if f.Global.JSON {
		return f.PrintJSON(v)
	}
	if !f.Global.Quiet {
		fmt.Fprintf(f.IO.ErrOut, format+"\n", args...)
	}
	return nil
}

// WithTimeout bounds one wait for a server or peer response by --timeout.
func (f *Factory) WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.Global.Timeout)
}

// parseJIDs validates JIDs before connecting (exit status 2 on error).
func parseJIDs(args []string, bareOnly bool) ([]string, error) {
	out := make([]string, 0, len(args))
	for _, a := range args {
		j, err := jid.Parse(strings.TrimSpace(a))
		if err != nil {
			return nil, usageErrorf("invalid JID %q: %v", a, err)
		}
		if bareOnly && j.Resourcepart() != "" {
			return nil, usageErrorf("invalid room %q: want room@service without a /nick", a)
		}
		out = append(out, j.String())
	}
	return out, nil
}

// optionalArg is the RunE of a command with maxArgs(1): the
// argument, when given, goes to *dst ("" means the command's default), then
// run gets opts.
func optionalArg[O any](opts *O, dst *string, run func(context.Context, *O) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if len(args) == 1 {
			*dst = args[0]
		}
		return run(c.Context(), opts)
	}
}
