package avatar

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
)

func TestPublishThenGet(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	p, err := Prepare(pngBytes(t, gradient(40, 30, 255)), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Publish(ctx, s, p, pep.Options{Access: pep.Open})
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Bytes: len(p.Data), ID: ID(p.Data), Type: TypePNG, Width: 40, Height: 30}
	if info != want {
		t.Fatalf("published %+v, want %+v", info, want)
	}
	// Data first, then metadata, both with the same model.
	wantLog := []string{"publish " + NSData + " id=" + want.ID + " access=open", "publish " + NSMetadata + " id=" + want.ID + " access=open"}
	if got := srv.Requests(); !slices.Equal(got, wantLog) {
		t.Fatalf("requests %q, want %q", got, wantLog)
	}
	av, err := Get(ctx, s, "")
	if err != nil {
		t.Fatal(err)
	}
	if av.Info != want || string(av.Data) != string(p.Data) {
		t.Fatalf("Get = %+v", av.Info)
	}
}

func TestGetVerifiesHash(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	p, _ := Prepare(pngBytes(t, gradient(8, 8, 255)), DefaultLimits)
	if _, err := Publish(ctx, s, p, pep.Options{}); err != nil {
		t.Fatal(err)
	}
	// Another image's bytes under this id.
	other := pngBytes(t, gradient(9, 9, 255))
	n := srv.Nodes[NSData]
	n.Items[0].Payload = []byte(`<data xmlns="urn:xmpp:avatar:data">` + base64.StdEncoding.EncodeToString(other) + `</data>`)
	_, err := Get(ctx, s, "")
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("tampered data: %v", err)
	}
}

func TestGetNone(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	if _, err := Get(ctx, s, ""); !errors.Is(err, ErrNone) {
		t.Fatalf("no node: %v", err)
	}
	srv.Nodes[NSMetadata] = &peptest.Node{Access: "open", Items: []peptest.Item{{ID: "x",
		Payload: []byte(`<metadata xmlns="urn:xmpp:avatar:metadata"/>`)}}}
	if _, err := Get(ctx, s, ""); !errors.Is(err, ErrNone) {
		t.Fatalf("empty metadata: %v", err)
	}
	srv.Nodes[NSMetadata].Items[0].Payload = []byte(`<metadata xmlns="urn:xmpp:avatar:metadata"><info id="ab" bytes="3" type="image/png" url="https://example.org/a.png"/></metadata>`)
	if _, err := Get(ctx, s, ""); !errors.Is(err, ErrNone) {
		t.Fatalf("URL-only metadata: %v", err)
	}
}

func TestDisable(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	p, _ := Prepare(pngBytes(t, gradient(8, 8, 255)), DefaultLimits)
	info, _ := Publish(ctx, s, p, pep.Options{Access: pep.Open})
	removed, err := Disable(ctx, s)
	if err != nil || !slices.Equal(removed, []string{info.ID}) {
		t.Fatalf("Disable = %q, %v", removed, err)
	}
	if n := srv.Node(NSData); len(n.Items) != 0 {
		t.Fatalf("data items left: %+v", n.Items)
	}
	if _, err := GetMetadata(ctx, s, ""); !errors.Is(err, ErrNone) {
		t.Fatalf("metadata after Disable: %v", err)
	}
	if m := srv.Node(NSMetadata).Access; m != "open" {
		t.Fatalf("Disable changed the access model to %s", m)
	}
}

func TestPick(t *testing.T) {
	infos := []Info{{ID: "u", URL: "https://x"}, {ID: "j", Type: TypeJPEG}, {ID: "p", Type: TypePNG}}
	if got, ok := pick(infos); !ok || got.ID != "p" {
		t.Fatalf("pick = %+v %v, want the PNG", got, ok)
	}
	if _, ok := pick(infos[:1]); ok {
		t.Fatal("picked a URL-only image")
	}
}

func FuzzDecodeMetadata(f *testing.F) {
	f.Add([]byte(`<info bytes="12" id="ab" type="image/png" width="64" height="64"/>`))
	f.Add([]byte(`<info bytes="x"/>`))
	f.Add([]byte(`<pointer><x xmlns="y"/></pointer>`))
	f.Fuzz(func(t *testing.T, inner []byte) {
		s, srv := peptest.NewSession()
		srv.Nodes[NSMetadata] = &peptest.Node{Items: []peptest.Item{{ID: "1",
			Payload: append(append([]byte(`<metadata xmlns="urn:xmpp:avatar:metadata">`), inner...), "</metadata>"...)}}}
		_, _ = Get(context.Background(), s, "")
	})
}
