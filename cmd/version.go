package cmd

// xmppctl version (and --version): which build this is.

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/buildinfo"
)

// devVersion is Version when the build stamped none.
const devVersion = "0.1.0-dev"

func buildInfo() buildinfo.Info { return buildinfo.Read(Version, devVersion) }

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version of this build",
		Long: `Print the version of xmppctl (stamped by the release build, or the module
version of go install), the VCS revision and date it was built from, whether
the tree had uncommitted changes, and the Go version and platform. With
--json one object: version, module_version, revision, revision_time,
modified, go, os, arch. --version prints the same text.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			i := buildInfo()
			if f.Global.JSON {
				return json.NewEncoder(f.IO.Out).Encode(i)
			}
			_, err := fmt.Fprint(f.IO.Out, i.String())
			return err
		},
	}
}
