package cmd

// Flag parsing of send, upload and jingle-send, without running them: each
// command is built with a run function that only captures its options
// (cli/cli's NewCmdX(f, runF)).

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/ibb"
)

// parseWith runs the command c built around capture on args and returns
// the error (nil when the options reached the run function).
func parseWith(t *testing.T, c *cobra.Command, args []string) error {
	t.Helper()
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetFlagErrorFunc(flagError) // as the root command sets it for every command
	return c.ExecuteContext(context.Background())
}

// flagCase is one command line: the options it must reach the run
// function with, or a usage error (exit status 2) before it runs.
type flagCase[T any] struct {
	name    string
	args    []string
	want    T
	wantErr bool
}

// testFlags builds the command with a run function that captures its
// options (noDeps clears what is not parsed) and checks each case.
func testFlags[T any](t *testing.T, build func(runF func(context.Context, *T) error) *cobra.Command, noDeps func(*T), cases []flagCase[T]) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var got *T
			err := parseWith(t, build(func(_ context.Context, o *T) error { got = o; return nil }), tt.args)
			if tt.wantErr {
				if err == nil || exitCode(err, false) != ExitUsage {
					t.Errorf("error %v (exit %d), want a usage error", err, exitCode(err, false))
				}
				if got != nil {
					t.Error("the command ran despite the usage error")
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v, want none", err)
			}
			if got == nil {
				t.Fatal("the command did not run")
			}
			noDeps(got)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options\n got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestSendFlags(t *testing.T) {
	base := sendOptions{Type: "chat", Retries: sendRetries}
	with := func(mod func(*sendOptions)) sendOptions { o := base; mod(&o); return o }
	testFlags(t, func(runF func(context.Context, *sendOptions) error) *cobra.Command {
		return newSendCmd(&Factory{}, runF)
	},
		func(o *sendOptions) { o.f = nil }, []flagCase[sendOptions]{
			{"message", []string{"-m", "hi", "bob@example.org"}, with(func(o *sendOptions) {
				o.Recipients, o.Message, o.MessageSet = []string{"bob@example.org"}, "hi", true
			}), false},
			{"empty -m is set", []string{"--message=", "a@b", "c@d"}, with(func(o *sendOptions) {
				o.Recipients, o.MessageSet = []string{"a@b", "c@d"}, true
			}), false},
			{"lines take ten retries", []string{"--lines", "a@b"}, with(func(o *sendOptions) {
				o.Recipients, o.Lines, o.Retries = []string{"a@b"}, true, sendLinesRetries
			}), false},
			{"lines keep given retries", []string{"--lines", "--retries", "0", "a@b"}, with(func(o *sendOptions) {
				o.Recipients, o.Lines, o.Retries, o.RetriesSet = []string{"a@b"}, true, 0, true
			}), false},
			{"muc, nick, omemo off", []string{"--muc", "--nick", "bot", "--omemo=false", "r@conf.example.org"}, with(func(o *sendOptions) {
				o.Recipients, o.MUC, o.Nick, o.OMEMOSet = []string{"r@conf.example.org"}, true, "bot", true
			}), false},
			{"no recipient", []string{"-m", "hi"}, sendOptions{}, true},
			{"bad type", []string{"--type", "groupchat", "a@b"}, sendOptions{}, true},
			{"lines with -m", []string{"--lines", "-m", "x", "a@b"}, sendOptions{}, true},
			{"oob with -m", []string{"--oob", "https://x/y", "-m", "x", "a@b"}, sendOptions{}, true},
			{"receipt in rooms", []string{"--receipt", "--muc", "r@c"}, sendOptions{}, true},
			{"negative retries", []string{"--retries", "-1", "a@b"}, sendOptions{}, true},
			{"unknown flag", []string{"--bogus", "a@b"}, sendOptions{}, true},
		})
}

func TestUploadFlags(t *testing.T) {
	base := uploadOptions{Jobs: 2, Retries: 3}
	with := func(mod func(*uploadOptions)) uploadOptions { o := base; mod(&o); return o }
	testFlags(t, func(runF func(context.Context, *uploadOptions) error) *cobra.Command {
		return newUploadCmd(&Factory{}, runF)
	},
		func(o *uploadOptions) { o.f = nil }, []flagCase[uploadOptions]{
			{"files", []string{"a.txt", "b.txt"}, with(func(o *uploadOptions) { o.Files = []string{"a.txt", "b.txt"} }), false},
			{"share", []string{"--to", "a@b", "--to", "c@d", "--muc", "r@c", "--caption", "logs", "x"}, with(func(o *uploadOptions) {
				o.Files, o.To, o.MUC, o.Caption = []string{"x"}, []string{"a@b", "c@d"}, []string{"r@c"}, "logs"
			}), false},
			{"stdin with size", []string{"-", "--name", "db.gz", "--size", "0"}, with(func(o *uploadOptions) {
				o.Files, o.Name, o.SizeSet = []string{"-"}, "db.gz", true
			}), false},
			{"jobs, retries, omemo", []string{"--jobs", "4", "--retries", "0", "--omemo", "--allow-http", "x"}, with(func(o *uploadOptions) {
				o.Files, o.Jobs, o.Retries, o.OMEMO, o.AllowHTTP = []string{"x"}, 4, 0, true, true
			}), false},
			{"no file", nil, uploadOptions{}, true},
			{"no jobs", []string{"--jobs", "0", "x"}, uploadOptions{}, true},
			{"negative retries", []string{"--retries", "-2", "x"}, uploadOptions{}, true},
			{"name for two files", []string{"--name", "n", "x", "y"}, uploadOptions{}, true},
			{"bad name", []string{"--name", "a/b", "x"}, uploadOptions{}, true},
			{"size without stdin", []string{"--size", "3", "x"}, uploadOptions{}, true},
			{"negative size", []string{"--size", "-3", "--name", "n", "-"}, uploadOptions{}, true},
			{"caption alone", []string{"--caption", "c", "x"}, uploadOptions{}, true},
		})
}

func TestJingleSendFlags(t *testing.T) {
	base := jingleSendOptions{p2pOptions: p2pOptions{Transport: "auto", Proxy: "auto", BlockSize: ibb.DefaultBlockSize}}
	with := func(mod func(*jingleSendOptions)) jingleSendOptions { o := base; mod(&o); return o }
	testFlags(t, func(runF func(context.Context, *jingleSendOptions) error) *cobra.Command {
		return newJingleSendCmd(&Factory{}, runF)
	},
		func(o *jingleSendOptions) { o.f = nil }, []flagCase[jingleSendOptions]{
			{"one file", []string{"a.iso", "bob@example.org"}, with(func(o *jingleSendOptions) {
				o.Files, o.To = []string{"a.iso"}, "bob@example.org"
			}), false},
			{"files, the JID last", []string{"a", "b", "c", "bob@example.org/pc"}, with(func(o *jingleSendOptions) {
				o.Files, o.To = []string{"a", "b", "c"}, "bob@example.org/pc"
			}), false},
			{"transport flags", []string{"--transport", "ibb", "--block-size", "512", "--candidate-addr", "none", "--proxy", "none",
				"--legacy", "--desc", "d", "f", "j@x"}, with(func(o *jingleSendOptions) {
				o.Files, o.To, o.Transport, o.BlockSize, o.CandidateAddrs, o.Proxy, o.Legacy, o.Desc =
					[]string{"f"}, "j@x", "ibb", 512, []string{"none"}, "none", true, "d"
			}), false},
			{"no JID", []string{"a.iso"}, jingleSendOptions{}, true},
			{"bad transport", []string{"--transport", "tcp", "f", "j@x"}, jingleSendOptions{}, true},
			{"bad candidate", []string{"--candidate-addr", "eth0", "f", "j@x"}, jingleSendOptions{}, true},
			{"block size zero", []string{"--block-size", "0", "f", "j@x"}, jingleSendOptions{}, true},
		})
}

// TestRunFError: what the run function returns is the command's error.
func TestRunFError(t *testing.T) {
	boom := errors.New("boom")
	c := newSendCmd(&Factory{}, func(context.Context, *sendOptions) error { return boom })
	if err := parseWith(t, c, []string{"-m", "x", "a@b"}); !errors.Is(err, boom) {
		t.Errorf("error %v, want the run function's", err)
	}
}
