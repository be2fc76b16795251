package e2e

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/avatar"
	"github.com/xmppctl/xmppctl/pkg/nick"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Images are generated here rather than committed.

func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return img
}

func noisy(w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeTemp(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha1hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// accessOf reads the access model of user's node from user's own session.
func accessOf(t *testing.T, user, node string) pep.AccessModel {
	t.Helper()
	m, err := pep.Access(shortCtx(t), srv.Dial(t, user), node)
	if err != nil {
		t.Fatalf("access model of %s's %s: %v", user, node, err)
	}
	return m
}

func TestAvatarSetPNGOpenAndFetch(t *testing.T) {
	alice, bob := srv.NewUser(t, "ava"), srv.NewUser(t, "avb")
	img := encodePNG(t, gradient(64, 48))
	// Detected by content: the name says nothing.
	file := writeTemp(t, "avatar.dat", img)
	res := xmppctl(t, alice, "", "--json", "avatar", "set", "--access", "open", file)
	if res.Code != 0 {
		t.Fatalf("avatar set: exit %d: %s", res.Code, res.Stderr)
	}
	var out struct {
		ID     string
		Type   string
		Bytes  int
		Access string
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != sha1hex(img) || out.Type != "image/png" || out.Bytes != len(img) || out.Access != "open" {
		t.Fatalf("set reported %+v", out)
	}

	// bob, not a contact, reads the nodes directly: metadata as published,
	// data byte-identical (small PNG published as is).
	sb := srv.Dial(t, bob)
	infos, err := avatar.GetMetadata(shortCtx(t), sb, srv.JID(alice))
	if err != nil {
		t.Fatal(err)
	}
	want := avatar.Info{Bytes: len(img), ID: sha1hex(img), Type: "image/png", Width: 64, Height: 48}
	if len(infos) != 1 || infos[0] != want {
		t.Fatalf("metadata %+v, want %+v", infos, want)
	}
	items, err := pep.Items(shortCtx(t), sb, srv.JID(alice), avatar.NSData, 0, want.ID)
	if err != nil || len(items) != 1 || items[0].ID != want.ID {
		t.Fatalf("data items %+v, %v", items, err)
	}
	if data, err := avatar.DecodeData(items[0]); err != nil || !bytes.Equal(data, img) {
		t.Fatalf("published data differs from the file (%v)", err)
	}
	for _, node := range []string{avatar.NSData, avatar.NSMetadata} {
		if m := accessOf(t, alice, node); m != pep.Open {
			t.Errorf("%s has access %s, want open", node, m)
		}
	}

	// bob fetches it with the binary, to a file and to stdout.
	dst := filepath.Join(t.TempDir(), "alice.png")
	res = xmppctl(t, bob, "", "avatar", "get", srv.JID(alice), "-o", dst)
	if res.Code != 0 {
		t.Fatalf("avatar get: exit %d: %s", res.Code, res.Stderr)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, img) {
		t.Fatal("fetched file differs")
	}
	res = xmppctl(t, bob, "", "avatar", "get", srv.JID(alice))
	if res.Code != 0 || res.Stdout != string(img) {
		t.Fatalf("avatar get to stdout: exit %d, %d bytes: %s", res.Code, len(res.Stdout), res.Stderr)
	}
}

func TestAvatarPresenceRefusesStrangers(t *testing.T) {
	alice, bob := srv.NewUser(t, "avc"), srv.NewUser(t, "avd")
	img := encodeJPEG(t, gradient(40, 40), 85)
	mustXmppctl(t, alice, "avatar", "set", writeTemp(t, "a.jpg", img)) // default: contacts only
	for _, node := range []string{avatar.NSData, avatar.NSMetadata} {
		if m := accessOf(t, alice, node); m != pep.Presence {
			t.Errorf("default access of %s is %s, want presence", node, m)
		}
	}
	res := xmppctl(t, bob, "", "avatar", "get", srv.JID(alice), "-o", filepath.Join(t.TempDir(), "x"))
	if res.Code != 5 || !refusedByAccessModel(res.Stderr) {
		t.Fatalf("stranger fetching a contacts-only avatar: exit %d: %s", res.Code, res.Stderr)
	}
	_, err := avatar.Get(shortCtx(t), srv.Dial(t, bob), srv.JID(alice))
	if !errors.Is(err, &stanza.Error{Condition: "forbidden"}) && !errors.Is(err, &stanza.Error{Condition: "not-authorized"}) {
		t.Fatalf("bob's direct fetch: %v, want forbidden or not-authorized", err)
	}
	// alice herself can: a JPEG small enough is published unchanged.
	got := filepath.Join(t.TempDir(), "me.jpg")
	mustXmppctl(t, alice, "avatar", "get", "-o", got)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, img) {
		t.Fatal("own JPEG avatar differs from the file")
	}
}

func TestAvatarLargePhotoIsScaled(t *testing.T) {
	alice, bob := srv.NewUser(t, "ave"), srv.NewUser(t, "avf")
	photo := encodeJPEG(t, noisy(2000, 1500), 95)
	if len(photo) < 1<<20 {
		t.Fatalf("test photo only %d bytes", len(photo))
	}
	res := xmppctl(t, alice, "", "avatar", "set", "--access", "open", writeTemp(t, "photo.jpg", photo))
	if res.Code != 0 {
		t.Fatalf("avatar set: exit %d: %s", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "scaled 2000x1500") {
		t.Errorf("set did not say what it did: %q", res.Stderr)
	}
	av, err := avatar.Get(shortCtx(t), srv.Dial(t, bob), srv.JID(alice))
	if err != nil {
		t.Fatal(err)
	}
	if len(av.Data) > 72*1024 || av.Info.Bytes != len(av.Data) || av.Info.ID != sha1hex(av.Data) {
		t.Fatalf("published %d bytes, metadata %+v", len(av.Data), av.Info)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(av.Data))
	if err != nil {
		t.Fatalf("published data is not a JPEG: %v", err)
	}
	if cfg.Width != av.Info.Width || cfg.Height != av.Info.Height || cfg.Width > 192 || cfg.Width*3 != cfg.Height*4 {
		t.Fatalf("published %dx%d (metadata %dx%d): want at most 192 px, 4:3", cfg.Width, cfg.Height, av.Info.Width, av.Info.Height)
	}
}

func TestAvatarRejectsOtherFormats(t *testing.T) {
	alice := srv.NewUser(t, "avg")
	var g bytes.Buffer
	if err := gif.Encode(&g, gradient(8, 8), nil); err != nil {
		t.Fatal(err)
	}
	truncated := encodePNG(t, gradient(64, 64))
	truncated = truncated[:len(truncated)/2]
	for name, data := range map[string][]byte{
		"image.gif":     g.Bytes(),
		"gif-named.png": g.Bytes(),
		"notes.txt":     []byte("not an image\n"),
		"broken.png":    truncated,
	} {
		res := xmppctl(t, alice, "", "avatar", "set", writeTemp(t, name, data))
		if res.Code != 2 {
			t.Errorf("%s: exit %d, want 2: %s", name, res.Code, res.Stderr)
		}
	}
	// Nothing was published.
	if _, err := avatar.GetMetadata(shortCtx(t), srv.Dial(t, alice), ""); !errors.Is(err, avatar.ErrNone) {
		t.Fatalf("metadata after rejected sets: %v", err)
	}
}

func TestAvatarAccessChangeAndRemove(t *testing.T) {
	alice, bob := srv.NewUser(t, "avh"), srv.NewUser(t, "avi")
	mustXmppctl(t, alice, "nick", "set", "--access", "open", "Alice")
	first := encodePNG(t, gradient(32, 32))
	mustXmppctl(t, alice, "avatar", "set", "--access", "open", writeTemp(t, "a.png", first))

	// Same nodes, now whitelist: the server refuses the mismatching
	// publish-options, xmppctl reconfigures and republishes. The nickname
	// node follows.
	second := encodePNG(t, gradient(33, 33))
	mustXmppctl(t, alice, "avatar", "set", "--access", "whitelist", writeTemp(t, "b.png", second))
	for _, node := range []string{avatar.NSData, avatar.NSMetadata, nick.NS} {
		if m := accessOf(t, alice, node); m != pep.Whitelist {
			t.Errorf("%s: access %s, want whitelist", node, m)
		}
	}
	if res := xmppctl(t, bob, "", "nick", "get", srv.JID(alice)); res.Code != 5 {
		t.Errorf("nick of a whitelist profile: exit %d: %s", res.Code, res.Stdout)
	}
	// Without --access the current model is kept.
	mustXmppctl(t, alice, "avatar", "set", writeTemp(t, "c.png", first))
	if m := accessOf(t, alice, avatar.NSMetadata); m != pep.Whitelist {
		t.Errorf("set without --access changed the model to %s", m)
	}

	mustXmppctl(t, alice, "avatar", "set", "--access", "open", writeTemp(t, "d.png", second))
	res := xmppctl(t, alice, "", "avatar", "remove")
	if res.Code != 0 {
		t.Fatalf("avatar remove: exit %d: %s", res.Code, res.Stderr)
	}
	res = xmppctl(t, bob, "", "avatar", "get", srv.JID(alice), "-o", filepath.Join(t.TempDir(), "x"))
	if res.Code != 5 || !strings.Contains(res.Stderr, "no avatar") {
		t.Fatalf("get after remove: exit %d: %s", res.Code, res.Stderr)
	}
	items, err := pep.Items(shortCtx(t), srv.Dial(t, bob), srv.JID(alice), avatar.NSData, 0, sha1hex(second))
	if err == nil && len(items) > 0 {
		t.Fatalf("data item still there after remove: %+v", items)
	}
}

func TestAvatarGetRefusesUsageErrors(t *testing.T) {
	env := []string{"XMPPCTL_JID=nobody@" + srv.Domain, "XMPPCTL_PASSWORD=wrong"}
	for _, args := range [][]string{
		{"avatar", "set", "--access", "friends", "x.png"},
		{"avatar", "set", filepath.Join(t.TempDir(), "missing.png")},
		{"avatar", "get", "bob@" + srv.Domain + "/res", "-o", "x"},
		{"--json", "avatar", "get", "bob@" + srv.Domain},
	} {
		if res := xmppctlEnv(t, env, args...); res.Code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, res.Code, res.Stderr)
		}
	}
}
