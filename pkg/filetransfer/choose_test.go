package filetransfer

import (
	"context"
	"errors"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/si"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Feature sets of typical peers.
var (
	featJingleS5B = []string{jingle.NS, jingle.NSFT, jingle.NSS5B}
	featJingleIBB = []string{jingle.NS, jingle.NSFT4, jingle.NSIBB}
	featJingleAll = []string{jingle.NS, jingle.NSFT, jingle.NSS5B, jingle.NSIBB, si.NS, si.NSProfile}
	featJingleNoT = []string{jingle.NS, jingle.NSFT}
	featSIOnly    = []string{si.NS, si.NSProfile}
	featNothing   = []string{"http://jabber.org/protocol/disco#info"}
)

func TestCapsOf(t *testing.T) {
	for _, tt := range []struct {
		name  string
		feats []string
		want  Caps
	}{
		{"jingle ft5 + s5b", featJingleS5B, Caps{Jingle: true, S5B: true}},
		{"jingle ft4 + ibb", featJingleIBB, Caps{Jingle: true, IBB: true}},
		{"everything", featJingleAll, Caps{Jingle: true, SI: true, S5B: true, IBB: true}},
		{"jingle without a file-transfer app", []string{jingle.NS, jingle.NSS5B}, Caps{S5B: true}},
		{"si without its profile", []string{si.NS}, Caps{}},
		{"si only", featSIOnly, Caps{SI: true}},
		{"nothing", featNothing, Caps{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CapsOf(&disco.Info{Features: tt.feats}); got != tt.want {
				t.Errorf("CapsOf(%v) = %+v, want %+v", tt.feats, got, tt.want)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	for _, tt := range []struct {
		name       string
		caps       Caps
		legacy     bool
		transport  jingle.Method
		wantMethod Method
		wantTr     jingle.Method
		wantErr    error
	}{
		{"jingle s5b auto", Caps{Jingle: true, S5B: true, IBB: true}, false, "auto", MethodJingle, "auto", nil},
		{"jingle ibb only: auto becomes ibb", Caps{Jingle: true, IBB: true}, false, "auto", MethodJingle, "ibb", nil},
		{"jingle s5b asked", Caps{Jingle: true, S5B: true}, false, "s5b", MethodJingle, "s5b", nil},
		{"jingle s5b asked, not offered", Caps{Jingle: true, IBB: true}, false, "s5b", "", "", ErrNoS5B},
		{"jingle ibb asked", Caps{Jingle: true, IBB: true}, false, "ibb", MethodJingle, "ibb", nil},
		{"jingle ibb asked, not offered", Caps{Jingle: true, S5B: true}, false, "ibb", "", "", ErrNoIBB},
		{"jingle without transports", Caps{Jingle: true}, false, "auto", "", "", ErrNoTransport},
		{"jingle without transports, SI too", Caps{Jingle: true, SI: true}, false, "auto", "", "", ErrNoTransport},
		{"si only", Caps{SI: true}, false, "auto", MethodSI, "auto", nil},
		{"si only, transport kept", Caps{SI: true}, false, "ibb", MethodSI, "ibb", nil},
		{"legacy prefers si", Caps{Jingle: true, SI: true, S5B: true}, true, "s5b", MethodSI, "s5b", nil},
		{"legacy without si", Caps{Jingle: true, S5B: true}, true, "auto", "", "", ErrNoSI},
		{"nothing", Caps{}, false, "auto", "", "", ErrNoFileTransfer},
		{"nothing, legacy", Caps{}, true, "auto", "", "", ErrNoSI},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, tr, err := Choose(tt.caps, tt.legacy, tt.transport)
			if m != tt.wantMethod || tr != tt.wantTr || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Choose(%+v, %v, %q) = %q, %q, %v; want %q, %q, %v",
					tt.caps, tt.legacy, tt.transport, m, tr, err, tt.wantMethod, tt.wantTr, tt.wantErr)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	notFound := &stanza.Error{Type: "cancel", Condition: "item-not-found"}
	lookup := func(peers map[string][]string) Lookup {
		return func(_ context.Context, jid string) (*disco.Info, error) {
			feats, ok := peers[jid]
			if !ok {
				return nil, notFound
			}
			return &disco.Info{JID: jid, Features: feats}, nil
		}
	}
	for _, tt := range []struct {
		name      string
		resources []string
		peers     map[string][]string
		legacy    bool
		want      Target
		wantIs    []error // errors.Is must hold for each
		wantText  string  // the error's text, when one is expected
	}{
		{
			name:      "one resource, jingle",
			resources: []string{"bob@example.org/laptop"},
			peers:     map[string][]string{"bob@example.org/laptop": featJingleS5B},
			want:      Target{JID: "bob@example.org/laptop", Method: MethodJingle, Transport: "auto"},
		},
		{
			name:      "first resource without file transfer is skipped",
			resources: []string{"bob@example.org/phone", "bob@example.org/pc"},
			peers:     map[string][]string{"bob@example.org/phone": featNothing, "bob@example.org/pc": featSIOnly},
			want:      Target{JID: "bob@example.org/pc", Method: MethodSI, Transport: "auto"},
		},
		{
			name:      "a resource that does not answer is skipped",
			resources: []string{"bob@example.org/gone", "bob@example.org/pc"},
			peers:     map[string][]string{"bob@example.org/pc": featJingleIBB},
			want:      Target{JID: "bob@example.org/pc", Method: MethodJingle, Transport: "ibb"},
		},
		{
			name:      "the first fitting resource wins",
			resources: []string{"bob@example.org/a", "bob@example.org/b"},
			peers:     map[string][]string{"bob@example.org/a": featJingleAll, "bob@example.org/b": featJingleS5B},
			want:      Target{JID: "bob@example.org/a", Method: MethodJingle, Transport: "auto"},
		},
		{
			name:      "legacy picks the resource with si",
			resources: []string{"bob@example.org/a", "bob@example.org/b"},
			peers:     map[string][]string{"bob@example.org/a": featJingleS5B, "bob@example.org/b": featJingleAll},
			legacy:    true,
			want:      Target{JID: "bob@example.org/b", Method: MethodSI, Transport: "auto"},
		},
		{
			name:      "one resource with nothing",
			resources: []string{"bob@example.org/x"},
			peers:     map[string][]string{"bob@example.org/x": featNothing},
			wantIs:    []error{ErrNoFileTransfer},
			wantText:  "bob@example.org/x cannot receive the file: no Jingle file transfer or SI advertised",
		},
		{
			name:      "one resource that does not answer",
			resources: []string{"bob@example.org/x"},
			wantIs:    []error{notFound},
			wantText:  "bob@example.org/x is not online or does not answer: remote error: item-not-found",
		},
		{
			name:      "no resource fits",
			resources: []string{"bob@example.org/a", "bob@example.org/b", "bob@example.org/c"},
			peers:     map[string][]string{"bob@example.org/a": featNothing, "bob@example.org/b": featJingleNoT},
			wantIs:    []error{ErrNoFileTransfer, ErrNoTransport, ErrNoAnswer},
			wantText: "no online resource of bob@example.org supports file transfer: bob@example.org/a (no Jingle file transfer or SI advertised), " +
				"bob@example.org/b (no Jingle transport we support advertised), bob@example.org/c (no answer)",
		},
		{
			name:   "no resources",
			wantIs: []error{ErrNoResource},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), "bob@example.org", tt.resources, lookup(tt.peers), tt.legacy, "auto")
			if got != tt.want {
				t.Errorf("Resolve() = %+v, want %+v", got, tt.want)
			}
			if len(tt.wantIs) == 0 {
				if err != nil {
					t.Fatalf("Resolve() error = %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve() error = nil, want %v", tt.wantIs)
			}
			for _, w := range tt.wantIs {
				if !errors.Is(err, w) {
					t.Errorf("Resolve() error %v: errors.Is(%v) = false", err, w)
				}
			}
			if tt.wantText != "" && err.Error() != tt.wantText {
				t.Errorf("Resolve() error = %q, want %q", err, tt.wantText)
			}
		})
	}
}

// TestResolveCanceled: a canceled context ends the search with its error,
// not with a resource counted as not answering.
func TestResolveCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	lookup := func(ctx context.Context, jid string) (*disco.Info, error) {
		cancel()
		return nil, ctx.Err()
	}
	_, err := Resolve(ctx, "bob@example.org", []string{"bob@example.org/a", "bob@example.org/b"}, lookup, false, "auto")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Resolve() error = %v, want context.Canceled", err)
	}
}
