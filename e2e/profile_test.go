package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/avatar"
	"github.com/xmppctl/xmppctl/pkg/nick"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/vcard"
)

func TestNickRoundTripAndAccess(t *testing.T) {
	alice, bob := srv.NewUser(t, "nka"), srv.NewUser(t, "nkb")
	name := `Alice <&> "Liddell"`
	mustXmppctl(t, alice, "nick", "set", "--access", "open", name)
	if got := strings.TrimSpace(mustXmppctl(t, bob, "nick", "get", srv.JID(alice))); got != name {
		t.Fatalf("bob read nick %q, want %q", got, name)
	}
	// Read back directly too: the payload is what XEP-0172 says.
	if got, err := nick.Get(shortCtx(t), srv.Dial(t, bob), srv.JID(alice)); err != nil || got != name {
		t.Fatalf("nick.Get %q, %v", got, err)
	}
	// Contacts only: bob, not a contact, is refused.
	mustXmppctl(t, alice, "nick", "set", "--access", "presence", name)
	res := xmppctl(t, bob, "", "nick", "get", srv.JID(alice))
	if res.Code != 5 || !refusedByAccessModel(res.Stderr) {
		t.Fatalf("stranger reading a contacts-only nick: exit %d: %s", res.Code, res.Stderr)
	}
	// The avatar nodes, once they exist, follow the nick's model.
	mustXmppctl(t, alice, "avatar", "set", writeTemp(t, "a.png", encodePNG(t, gradient(16, 16))))
	for _, node := range []string{avatar.NSData, avatar.NSMetadata, nick.NS} {
		if m := accessOf(t, alice, node); m != pep.Presence {
			t.Errorf("%s: %s, want presence (kept from the nick)", node, m)
		}
	}
	mustXmppctl(t, alice, "nick", "set", "--access", "open", "A")
	for _, node := range []string{avatar.NSData, avatar.NSMetadata} {
		if m := accessOf(t, alice, node); m != pep.Open {
			t.Errorf("%s: %s after nick set --access open, want open", node, m)
		}
	}
}

func TestProfileRoundTrip(t *testing.T) {
	alice, bob := srv.NewUser(t, "pfa"), srv.NewUser(t, "pfb")
	res := xmppctl(t, alice, "", "profile", "set", "--access", "open",
		"--fn", "Alice Liddell", "--note", "down the <rabbit> hole & back",
		"--email", "alice@example.org", "--email", "a@wonder.land",
		"--tel", "+44 20 7946 0000", "--url", "https://alice.example/", "--org", "Wonderland",
		"--bday", "1852-05-04")
	if res.Code != 0 {
		t.Fatalf("profile set: exit %d: %s", res.Code, res.Stderr)
	}
	get := func() vcard.Profile {
		t.Helper()
		var p vcard.Profile
		if err := json.Unmarshal([]byte(mustXmppctl(t, bob, "--json", "profile", "get", srv.JID(alice))), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := get()
	want := vcard.Profile{JID: srv.JID(alice), FN: "Alice Liddell", Note: "down the <rabbit> hole & back",
		Org: "Wonderland", Bday: "1852-05-04", URLs: []string{"https://alice.example/"},
		Emails: []string{"alice@example.org", "a@wonder.land"}, Tels: []string{"+44-20-7946-0000"}}
	if !equalProfile(p, want) {
		t.Fatalf("bob read\n%+v\nwant\n%+v", p, want)
	}
	// The vCard4 is what XEP-0292 says: item "current" on urn:xmpp:vcard4.
	items, err := pep.Items(shortCtx(t), srv.Dial(t, bob), srv.JID(alice), vcard.Node4, 1)
	if err != nil || len(items) != 1 || items[0].ID != "current" || !items[0].Payload.Is(vcard.NS4, "vcard") {
		t.Fatalf("raw vCard4 items %+v, %v", items, err)
	}

	// Changing one field keeps the others; an empty value removes one.
	mustXmppctl(t, alice, "profile", "set", "--note", "", "--title", "Explorer")
	p = get()
	want.Note, want.Title = "", "Explorer"
	if !equalProfile(p, want) {
		t.Fatalf("after a partial set bob read\n%+v\nwant\n%+v", p, want)
	}
	if m := accessOf(t, alice, vcard.Node4); m != pep.Open {
		t.Errorf("partial set changed the access model to %s", m)
	}
	// Plain output for people.
	out := mustXmppctl(t, bob, "profile", "get", srv.JID(alice))
	if !strings.Contains(out, "fn:       Alice Liddell") || !strings.Contains(out, "email:    a@wonder.land") {
		t.Errorf("profile get printed:\n%s", out)
	}
}

func equalProfile(a, b vcard.Profile) bool {
	return a.JID == b.JID && a.FN == b.FN && a.Nickname == b.Nickname && a.Note == b.Note && a.Org == b.Org &&
		a.Title == b.Title && a.Bday == b.Bday && slices.Equal(a.URLs, b.URLs) &&
		slices.Equal(a.Emails, b.Emails) && slices.Equal(a.Tels, b.Tels)
}

func TestProfileVisibility(t *testing.T) {
	alice, bob := srv.NewUser(t, "pva"), srv.NewUser(t, "pvb")
	if got := strings.TrimSpace(mustXmppctl(t, alice, "profile", "visibility")); got != "contacts" {
		t.Fatalf("fresh account visibility %q, want contacts", got)
	}
	mustXmppctl(t, alice, "profile", "visibility", "public-avatar-nick")
	// Publishing afterwards without --access keeps the setting.
	mustXmppctl(t, alice, "nick", "set", "Alice")
	mustXmppctl(t, alice, "profile", "set", "--fn", "Alice L")
	mustXmppctl(t, alice, "avatar", "set", writeTemp(t, "a.png", encodePNG(t, gradient(20, 20))))
	for node, want := range map[string]pep.AccessModel{avatar.NSData: pep.Open, avatar.NSMetadata: pep.Open,
		nick.NS: pep.Open, vcard.Node4: pep.Presence} {
		if m := accessOf(t, alice, node); m != want {
			t.Errorf("%s: %s, want %s", node, m, want)
		}
	}
	if got := strings.TrimSpace(mustXmppctl(t, alice, "profile", "visibility")); got != "public-avatar-nick" {
		t.Fatalf("visibility %q, want public-avatar-nick", got)
	}
	// bob (a stranger) sees avatar and nick, not the profile.
	if got := strings.TrimSpace(mustXmppctl(t, bob, "nick", "get", srv.JID(alice))); got != "Alice" {
		t.Errorf("bob read nick %q", got)
	}
	if _, err := avatar.Get(shortCtx(t), srv.Dial(t, bob), srv.JID(alice)); err != nil {
		t.Errorf("bob cannot fetch a public avatar: %v", err)
	}
	if res := xmppctl(t, bob, "", "profile", "get", srv.JID(alice)); res.Code != 5 {
		t.Errorf("bob read a contacts-only profile: exit %d: %s", res.Code, res.Stdout)
	}

	mustXmppctl(t, alice, "profile", "visibility", "public")
	if res := xmppctl(t, bob, "", "profile", "get", srv.JID(alice)); res.Code != 0 || !strings.Contains(res.Stdout, "Alice L") {
		t.Errorf("bob cannot read a public profile: exit %d: %s", res.Code, res.Stderr)
	}
	mustXmppctl(t, alice, "profile", "visibility", "contacts")
	if res := xmppctl(t, bob, "", "nick", "get", srv.JID(alice)); res.Code != 5 {
		t.Errorf("bob read the nick after visibility contacts: exit %d", res.Code)
	}
	if res := xmppctl(t, alice, "", "profile", "visibility", "friends"); res.Code != 2 {
		t.Errorf("invalid visibility: exit %d", res.Code)
	}
}
