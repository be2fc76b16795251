package rooms

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// dropOccupant makes the MUC service forget an occupant without telling
// anyone, as a service that lost track of it would (restarted, or its
// state for that user lost): the occupant gets no presence and still
// believes it is joined. It runs Lua in the live server through
// prosodyctl's admin shell.
func dropOccupant(t *testing.T, room, nick string) {
	t.Helper()
	code := fmt.Sprintf(`>local r = prosody.hosts[%q].modules.muc.get_room_from_jid(%q); `+
		`local o = r and r:get_occupant_by_nick(%q); if not o then return "no occupant" end; `+
		`o.role = nil; r:save_occupant(o); return "dropped"`, srv.MUCHost, room, room+"/"+nick)
	out, err := exec.Command("prosodyctl", "--config", filepath.Join(srv.Dir, "prosody.cfg.lua"), "shell", code).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dropped") {
		t.Fatalf("drop %s/%s: %v: %s", room, nick, err, out)
	}
}

// TestListenSelfPingRejoins: a room that silently dropped the bot is
// found out by the XEP-0410 self-ping and joined again; messages flow
// again afterwards.
func TestListenSelfPingRejoins(t *testing.T) {
	// ejabberd's API can only remove an occupant by telling it (kick,
	// ban, destroy_room send it an unavailable presence), and its shell
	// needs the node's Erlang distribution; the silent loss this test
	// needs is made through Prosody's admin shell.
	testserver.Only(t, srv, testserver.Prosody, "needs an occupant dropped without telling it (prosodyctl shell)")
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	peer := newPeer(t, bob, "")
	room := "ping-" + bob + "@" + srv.MUCHost
	peer.do("join", map[string]any{"room": room, "nick": "bob"})
	l := startListen(t, alice, t.TempDir(), "--muc", room, "--nick", "bot", "--room-ping", "1s")
	l.joined(room)
	dropOccupant(t, room, "bot")
	l.stderr(room, "no longer has us (self-ping)")
	l.joined(room)
	peer.do("say", map[string]any{"room": room, "body": "are you back?"})
	if g := l.next(); g.Body != "are you back?" {
		t.Errorf("after the rejoin: %+v", g)
	}
}
