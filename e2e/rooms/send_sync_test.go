package rooms

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSendMUCThenSyncRoomStoresOnce is the regression test of issue 13's
// defect: messages "send --muc" sent are recorded at once, and the room
// archive's copies (from room/nick) are matched to those records by the
// origin-id the room keeps, not stored a second time.
func TestSendMUCThenSyncRoomStoresOnce(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	owner := newPeer(t, bob, "")
	room := "sync-" + bob + "@" + srv.MUCHost
	owner.do("join", map[string]any{"room": room, "nick": "bob"})
	data := t.TempDir()
	mustOK(t, xmppctl(t, alice, "", "--data-dir", data, "archive", "sync"))
	mustOK(t, xmppctl(t, alice, "one\ntwo\nthree\n", "--data-dir", data, "send", "--muc", "--lines", room))
	res := xmppctl(t, alice, "", "--data-dir", data, "--json", "archive", "sync", "--room", room)
	mustOK(t, res)
	var sum struct{ New, Duplicates, Total int }
	if err := json.Unmarshal([]byte(res.Stdout), &sum); err != nil {
		t.Fatalf("sync summary %q: %v", res.Stdout, err)
	}
	if sum.New != 0 || sum.Duplicates != 3 || sum.Total != 3 {
		t.Errorf("archive sync --room after send --muc: %+v, want new 0, duplicates 3, total 3", sum)
	}
	list := xmppctl(t, alice, "", "--data-dir", data, "archive", "list", "--json", "--with", room)
	mustOK(t, list)
	for _, body := range []string{"one", "two", "three"} {
		if n := strings.Count(list.Stdout, `"body":"`+body+`"`); n != 1 {
			t.Errorf("%q stored %d times:\n%s", body, n, list.Stdout)
		}
	}
}
