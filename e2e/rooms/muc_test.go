package rooms

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func hasAll(have []any, want ...string) error {
	set := map[string]bool{}
	for _, h := range have {
		set[fmt.Sprint(h)] = true
	}
	for _, w := range want {
		if !set[w] {
			return fmt.Errorf("%q missing from %v", w, have)
		}
	}
	return nil
}

// TestMucCreateAndAdminister: what "muc create" configures, a slixmpp
// peer reads back; invitations reach the peer; affiliations, members,
// subject and destroy work; the room's refusals exit 5 naming the
// condition.
func TestMucCreateAndAdminister(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	room := "made-" + alice + "@" + srv.MUCHost
	res := xmppctl(t, alice, "", "muc", "create", room, "--name", "Ops Room", "--description", "deploys & <alerts>",
		"--persistent", "--members-only", "--non-anonymous", "--public")
	mustOK(t, res)
	peer := newPeer(t, bob, "")
	info := peer.do("info", map[string]any{"room": room})
	if err := hasAll(info["features"].([]any), "muc_membersonly", "muc_persistent", "muc_nonanonymous"); err != nil {
		t.Errorf("peer reads the created room: %v", err)
	}
	fields, _ := info["fields"].(map[string]any)
	if fields["muc#roominfo_description"] != "deploys & <alerts>" {
		t.Errorf("peer reads description %v", fields["muc#roominfo_description"])
	}
	if err := hasAll(info["names"].([]any), "Ops Room"); err != nil {
		t.Errorf("room name: %v", err)
	}
	// Members-only: the peer is refused until it is a member.
	if r := peer.try("join", map[string]any{"room": room, "nick": "bob"}); r["error"] != "registration-required" {
		t.Fatalf("peer joining the members-only room without membership: %v, want registration-required", r)
	}

	// An existing room is not reconfigured without --reconfigure.
	res = xmppctl(t, alice, "", "muc", "create", room, "--name", "Other")
	if res.Code != 5 || !strings.Contains(res.Stderr, "already exists") {
		t.Errorf("create of an existing room: exit %d, %q", res.Code, res.Stderr)
	}
	mustOK(t, xmppctl(t, alice, "", "muc", "create", room, "--reconfigure", "--name", "Ops 2"))
	res = xmppctl(t, alice, "", "--json", "muc", "info", room)
	mustOK(t, res)
	var ri struct {
		Name      string
		Features  []string
		Occupants int
	}
	if err := json.Unmarshal([]byte(res.Stdout), &ri); err != nil || ri.Name != "Ops 2" || !strings.Contains(strings.Join(ri.Features, ","), "membersonly") {
		t.Errorf("muc info --json after --reconfigure: %+v %v (%s)", ri, err, res.Stdout)
	}

	mustOK(t, xmppctl(t, alice, "", "muc", "affiliation", room, srv.JID(bob), "member"))
	res = xmppctl(t, alice, "", "--json", "muc", "members", room)
	mustOK(t, res)
	if !strings.Contains(res.Stdout, `"jid":"`+srv.JID(bob)+`","affiliation":"member"`) ||
		!strings.Contains(res.Stdout, `"jid":"`+srv.JID(alice)+`","affiliation":"owner"`) {
		t.Errorf("members: %s", res.Stdout)
	}
	peer.do("join", map[string]any{"room": room, "nick": "bob"})

	mustOK(t, xmppctl(t, alice, "", "muc", "invite", room, srv.JID(bob), "--reason", "come in"))
	inv := peer.event(30*time.Second, func(e map[string]any) bool { return e["event"] == "invite" })
	if inv["room"] != room || inv["reason"] != "come in" || !strings.HasPrefix(fmt.Sprint(inv["from"]), srv.JID(alice)) {
		t.Errorf("peer got invitation %v", inv)
	}

	mustOK(t, xmppctl(t, alice, "", "muc", "subject", room, "deploy freeze"))
	subj := peer.event(30*time.Second, func(e map[string]any) bool { return e["event"] == "subject" && e["subject"] == "deploy freeze" })
	if subj["room"] != room {
		t.Errorf("peer saw subject %v", subj)
	}
	res = xmppctl(t, alice, "", "--json", "muc", "list", srv.MUCHost)
	mustOK(t, res)
	if !strings.Contains(res.Stdout, `"jid":"`+room+`"`) {
		t.Errorf("muc list does not show the public room %s:\n%s", room, res.Stdout)
	}

	// A member cannot destroy the room: exit 5 naming the condition.
	res = xmppctl(t, bob, "", "muc", "destroy", room)
	if res.Code != 5 || !strings.Contains(res.Stderr, "forbidden") {
		t.Errorf("destroy by a member: exit %d, %q", res.Code, res.Stderr)
	}
	mustOK(t, xmppctl(t, alice, "", "muc", "destroy", room, "--reason", "done"))
	res = xmppctl(t, alice, "", "muc", "info", room)
	// Prosody keeps a tombstone of a destroyed room: "gone".
	if res.Code != 5 || !(strings.Contains(res.Stderr, "item-not-found") || strings.Contains(res.Stderr, "gone")) {
		t.Errorf("info of a destroyed room: exit %d, %q", res.Code, res.Stderr)
	}
}

// TestBookmarks: bookmarks are stored in the account's PEP (visible to its
// second resource, a slixmpp client, and not to others), and listen
// --bookmarks joins the autojoin ones.
func TestBookmarks(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	owner := newPeer(t, bob, "")
	room := "bm-" + bob + "@" + srv.MUCHost
	other := "bm2-" + bob + "@" + srv.MUCHost
	owner.do("join", map[string]any{"room": room, "nick": "bob"})

	mustOK(t, xmppctl(t, alice, "", "bookmarks", "add", room, "--name", "Ops", "--nick", "bmbot", "--autojoin"))
	mustOK(t, xmppctl(t, alice, "", "bookmarks", "add", other, "--name", "Quiet"))
	res := xmppctl(t, alice, "", "--json", "bookmarks", "list")
	mustOK(t, res)
	var bms []struct {
		Room, Name, Nick string
		Autojoin         bool
	}
	if err := json.Unmarshal([]byte(res.Stdout), &bms); err != nil || len(bms) != 2 {
		t.Fatalf("bookmarks list: %v %s", err, res.Stdout)
	}
	second := newPeer(t, alice, "phone")
	items := second.do("pep_items", map[string]any{"jid": srv.JID(alice), "node": "urn:xmpp:bookmarks:1"})
	got := fmt.Sprint(items["items"])
	if !strings.Contains(got, room) || !strings.Contains(got, "bmbot") || !strings.Contains(got, `autojoin="true"`) {
		t.Errorf("the account's second resource reads %s", got)
	}
	if r := owner.try("pep_items", map[string]any{"jid": srv.JID(alice), "node": "urn:xmpp:bookmarks:1"}); r["ok"] == true {
		t.Errorf("another account read the bookmarks (access model not whitelist): %v", r)
	}

	l := startListen(t, alice, t.TempDir(), "--bookmarks")
	l.stderr("joined "+room, "as bmbot")
	owner.do("say", map[string]any{"room": room, "body": "hi bookmarked bot"})
	if g := l.next(); g.Body != "hi bookmarked bot" || g.Room != room {
		t.Errorf("listen --bookmarks printed %+v", g)
	}
	l.stop()

	mustOK(t, xmppctl(t, alice, "", "bookmarks", "remove", room))
	res = xmppctl(t, alice, "", "bookmarks", "list")
	mustOK(t, res)
	if strings.Contains(res.Stdout, room) || !strings.Contains(res.Stdout, other) {
		t.Errorf("after remove: %s", res.Stdout)
	}
}
