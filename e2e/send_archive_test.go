package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSendThenSyncStoresOnce: with a local archive, what send sent is
// recorded at once, and its copy from the server archive is matched to
// that record instead of being stored a second time.
func TestSendThenSyncStoresOnce(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	data := t.TempDir()
	mustOK(t, xmppctl(t, alice, "", "--data-dir", data, "archive", "sync"))
	mustOK(t, xmppctl(t, alice, "one\ntwo\nthree\n", "--data-dir", data, "send", "--lines", srv.JID(bob)))
	list := xmppctl(t, alice, "", "--data-dir", data, "archive", "list", "--json")
	mustOK(t, list)
	if n := strings.Count(list.Stdout, "\n"); n != 3 {
		t.Fatalf("after send the local archive has %d messages, want 3:\n%s", n, list.Stdout)
	}
	res := xmppctl(t, alice, "", "--data-dir", data, "--json", "archive", "sync")
	mustOK(t, res)
	var sum struct{ New, Duplicates, Total int }
	if err := json.Unmarshal([]byte(res.Stdout), &sum); err != nil {
		t.Fatalf("sync summary %q: %v", res.Stdout, err)
	}
	if sum.New != 0 || sum.Duplicates != 3 || sum.Total != 3 {
		t.Errorf("sync after send: %+v, want new 0, duplicates 3, total 3", sum)
	}
}
