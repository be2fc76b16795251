package cmd

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/avatar"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
)

// pepFactory is testFactory with a fake PEP service behind the session.
func pepFactory(t *testing.T) (*Factory, *int, *peptest.Server, func() string) {
	t.Helper()
	f, dials, sess := testFactory(t, nil)
	srv := peptest.New()
	sess.OnIQ = srv.OnIQ
	stderr := func() string { return f.IO.ErrOut.(*bytes.Buffer).String() }
	return f, dials, srv, stderr
}

func tinyPNG(t *testing.T) string {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 3))); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.png")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPEPCommandsRejectBadInputBeforeConnecting(t *testing.T) {
	gif := filepath.Join(t.TempDir(), "x.png")
	_ = os.WriteFile(gif, []byte("GIF89a...."), 0o600)
	tests := [][]string{
		{"block"}, {"block", "add"}, {"block", "add", "a@b@c"}, {"block", "frobnicate"},
		{"avatar", "set"}, {"avatar", "set", gif}, {"avatar", "set", "--access", "public", gif},
		{"avatar", "set", "--max-bytes", "10", gif}, {"avatar", "get", "a@b/c"},
		{"nick", "set"}, {"nick", "set", " "}, {"nick", "set", "--access", "x", "n"},
		{"profile", "set"}, {"profile", "set", "--bday", "May 4"}, {"profile", "set", "--fn", "a", "--fn", "b"},
		{"profile", "set", "--email", "nope"}, {"profile", "visibility", "friends"},
	}
	for _, args := range tests {
		f, dials, _, stderr := pepFactory(t)
		if code := Run(context.Background(), f, args); code != ExitUsage || *dials != 0 {
			t.Errorf("%q: exit %d after %d dials, want 2 before connecting: %s", args, code, *dials, stderr())
		}
	}
}

func TestBlockWithoutServerSupport(t *testing.T) {
	f, _, srv, stderr := pepFactory(t)
	srv.ServerFeatures = nil
	if code := Run(context.Background(), f, []string{"block", "list"}); code != ExitRemote {
		t.Fatalf("exit %d, want 5: %s", code, stderr())
	}
	if !strings.Contains(stderr(), "does not support blocking") || !strings.Contains(stderr(), "hint:") {
		t.Fatalf("stderr %q", stderr())
	}
}

func TestAvatarGetRefusesTerminal(t *testing.T) {
	f, dials, _, stderr := pepFactory(t)
	f.IO.OutTTY = true
	if code := Run(context.Background(), f, []string{"avatar", "get", "bob@example.org"}); code != ExitUsage || *dials != 0 {
		t.Fatalf("exit %d, %d dials: %s", code, *dials, stderr())
	}
	if !strings.Contains(stderr(), "terminal") {
		t.Fatalf("stderr %q", stderr())
	}
}

// TestAvatarLegacy checks the vcard-temp mirror: written only with
// --legacy (or the config) and only when the server lacks XEP-0398.
func TestAvatarLegacy(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		conversion bool
		want       bool
	}{
		{"no flag", nil, false, false},
		{"flag, server converts", []string{"--legacy"}, true, false},
		{"flag, no conversion", []string{"--legacy"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, srv, stderr := pepFactory(t)
			if !tt.conversion {
				srv.AccountFeatures = slices.DeleteFunc(srv.AccountFeatures, func(s string) bool {
					return s == "urn:xmpp:pep-vcard-conversion:0"
				})
			}
			img := tinyPNG(t)
			args := append([]string{"avatar", "set"}, append(tt.args, img)...)
			if code := Run(context.Background(), f, args); code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr())
			}
			wrote := slices.Contains(srv.Requests(), "vcard-temp set")
			if wrote != tt.want {
				t.Fatalf("vcard-temp written = %v, want %v (%q)", wrote, tt.want, srv.Requests())
			}
			if wrote {
				data, _ := os.ReadFile(img)
				if !strings.Contains(string(srv.VCardTemp), "<TYPE>image/png</TYPE>") {
					t.Errorf("stored vCard %s", srv.VCardTemp)
				}
				if id := avatar.ID(data); !strings.Contains(strings.Join(sentOf(t, f), ""), "<photo>"+id+"</photo>") {
					t.Errorf("no XEP-0153 presence with the hash %s", id)
				}
			}
		})
	}
}

// sentOf returns what the factory's fake session sent.
func sentOf(t *testing.T, f *Factory) []string {
	t.Helper()
	s, err := f.Dial(context.Background(), connOptions())
	if err != nil {
		t.Fatal(err)
	}
	return s.(interface{ Sent() []string }).Sent()
}

func connOptions() conn.Options { return conn.Options{} }
