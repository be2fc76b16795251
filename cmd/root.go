// Package cmd is xmppctl's command tree. Commands are thin: they parse
// flags, validate input before connecting, call a package under pkg/ and
// render the result. Errors are returned, never printed here; exit.go maps
// them to exit statuses.
package cmd

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/codepages"
	"github.com/xmppctl/xmppctl/internal/iostreams"
)

// Version is set at build time with -ldflags "-X .../cmd.Version=..."
// (scripts/release); see version.go.
var Version = devVersion

const exitStatusHelp = `Exit status:
  0    success: the server acknowledged everything (and receipts arrived, if asked)
  1    other failure
  2    usage or bad input: bad flag, invalid JID, unreadable file, bad config
  3    partial: some recipients or files failed, others succeeded
  4    authentication failed
  5    refused by the remote side: error stanza, missing service, file too large
  6    connection or TLS failure: DNS, TCP, certificate, dropped connection
  7    timeout
  130  interrupted (SIGINT/SIGTERM)`

// Main runs xmppctl with the process's streams and signals.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	softMemoryLimit()
	// Start-up is over: what only the package initialisers used leaves
	// the resident set (internal/codepages).
	codepages.Drop()
	return Run(ctx, NewFactory(iostreams.System(), os.Getenv), args)
}

// Run executes the command line with an injected factory; cancelling ctx
// means the user interrupted.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	addCompletionCmd(root, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return report(f.IO.ErrOut, err, ctx.Err() != nil)
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	g := f.Global
	root := &cobra.Command{
		Use:   "xmppctl",
		Short: "XMPP from the shell: send, upload, sync and transfer for scripts, cron and CI",
		Long: `xmppctl does from a shell what a modern XMPP client does, for scripts, cron jobs,
CI notifications and one-off file sends. It always uses TLS with verified
certificates and exits 0 only when the server acknowledged what was sent.

The account comes from $XDG_CONFIG_HOME/xmppctl/config.toml (or --config, or
$XMPPCTL_CONFIG); XMPPCTL_JID and XMPPCTL_PASSWORD override it. Passwords are
never taken from the command line.

` + exitStatusHelp,
		Version:       buildInfo().Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without its own validator cobra reports an unknown command as
		// untyped text; a root with Args must be runnable for it to run.
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.SetVersionTemplate(buildInfo().String())
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&g.Account, "account", "", "use the [account.NAME] table of the config")
	pf.StringVar(&g.Config, "config", "", "config file (default $XDG_CONFIG_HOME/xmppctl/config.toml)")
	pf.StringVar(&g.DataDir, "data-dir", "", "data directory (default $XDG_DATA_HOME/xmppctl)")
	pf.StringVar(&g.Server, "server", "", "connect to host:port instead of resolving SRV records")
	pf.StringVar(&g.TLS, "tls", "", "with --server: direct (XEP-0368) or starttls")
	pf.StringVar(&g.CAFile, "ca-file", "", "also trust the CA certificates in this PEM file")
	pf.StringVar(&g.Pin, "pin", "", "trust exactly the server key with this sha256:<hex> fingerprint")
	pf.BoolVar(&g.Insecure, "insecure", false, "do not verify the server's certificate (dangerous)")
	pf.DurationVar(&g.Timeout, "timeout", 30*time.Second, "bound for connecting and for each wait on the server or a peer (in transfers: for the next bytes)")
	pf.BoolVar(&g.JSON, "json", false, "machine-readable output (JSON, or JSON Lines for streams)")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "print nothing but results and errors")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "tell what happens on stderr")
	pf.BoolVar(&g.DebugXML, "debug-xml", false, "copy the XML stream to stderr (credentials redacted)")

	root.AddCommand(newSendCmd(f, nil))
	root.AddCommand(newArchiveCmd(f))
	root.AddCommand(newListenCmd(f))
	root.AddCommand(newMucCmd(f))
	root.AddCommand(newBookmarksCmd(f))
	root.AddCommand(newBlockCmd(f))
	root.AddCommand(newAvatarCmd(f))
	root.AddCommand(newNickCmd(f))
	root.AddCommand(newProfileCmd(f))
	root.AddCommand(newUploadCmd(f, nil))
	root.AddCommand(newDownloadCmd(f))
	root.AddCommand(newVersionCmd(f))
	root.AddCommand(newDiscoCmd(f))
	root.AddCommand(newCheckCmd(f))
	root.AddCommand(newJingleSendCmd(f, nil))
	root.AddCommand(newJingleReceiveCmd(f))
	root.AddCommand(newRosterCmd(f))
	root.AddCommand(newOMEMOCmd(f))
	return root
}
