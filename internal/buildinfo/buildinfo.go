// Package buildinfo says which xmppctl this is: the version stamped at
// link time (scripts/release) or the module version (go install
// ...@vX.Y.Z), and the VCS revision, its date and the Go toolchain, all
// from runtime/debug.ReadBuildInfo.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes the running binary.
type Info struct {
	Version       string `json:"version"`                  // what to call this build
	ModuleVersion string `json:"module_version,omitempty"` // "(devel)" for a source build
	Revision      string `json:"revision,omitempty"`       // VCS commit, when built in a checkout
	RevisionTime  string `json:"revision_time,omitempty"`  // RFC 3339
	Modified      bool   `json:"modified,omitempty"`       // built from a tree with uncommitted changes
	Go            string `json:"go"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
}

// Read returns the build information. stamped is the version set with
// -ldflags -X (devDefault when nothing was stamped): a stamp wins, then a
// real module version (go install ...@v1.2.3), then the default.
func Read(stamped, devDefault string) Info {
	info := Info{Version: stamped, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.ModuleVersion = bi.Main.Version
	if stamped == devDefault && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.RevisionTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the human form, first line "xmppctl version X" (what
// --version always printed).
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "xmppctl version %s\n", i.Version)
	if i.Revision != "" {
		fmt.Fprintf(&b, "commit %s", i.Revision)
		var extra []string
		if i.RevisionTime != "" {
			extra = append(extra, i.RevisionTime)
		}
		if i.Modified {
			extra = append(extra, "modified")
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "built with %s for %s/%s\n", i.Go, i.OS, i.Arch)
	return b.String()
}
