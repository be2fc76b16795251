// Package jingle runs jingle-send and jingle-receive (the real binary)
// against a throwaway Prosody or ejabberd with its XEP-0065 proxy. The
// whole test process re-executes itself inside a network namespace that it creates
// with only loopback up (unshare --net), so that no candidate, offered or
// tried, can be anything but a loopback address; every command is also
// given --candidate-addr 127.0.0.1 (or none).
package jingle

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

var srv *testserver.Server

const netnsEnv = "XMPPCTL_JINGLE_NETNS"

func TestMain(m *testing.M) {
	if testserver.Enabled() && os.Getenv(netnsEnv) == "" {
		os.Exit(reexecInNetns())
	}
	testserver.Main(m, &srv)
}

// reexecInNetns runs this test binary again in a new network namespace
// with only lo up and returns its exit status.
func reexecInNetns() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jingle e2e:", err)
		return 1
	}
	args := append([]string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, exe}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "jingle e2e: cannot create a network namespace (unshare --net needs root or user namespaces):", err)
		return 1
	}
	return 0
}
