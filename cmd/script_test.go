package cmd_test

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/xmppctl/xmppctl/cmd"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"xmppctl": func() { os.Exit(cmd.Main(os.Args[1:])) },
	})
}

// TestScripts runs the binary on testdata/script/*.txtar: behaviour that
// needs no server (usage, config and input errors, help, version).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("XDG_CONFIG_HOME", e.WorkDir+"/config")
			e.Setenv("XDG_DATA_HOME", e.WorkDir+"/data")
			return nil
		},
	})
}
