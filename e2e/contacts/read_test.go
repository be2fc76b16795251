package contacts

import (
	"encoding/json"
	"strings"
	"testing"
)

type unreadLine struct {
	With   string `json:"with"`
	Unread int    `json:"unread"`
	Newest struct {
		Body      string `json:"body"`
		MessageID string `json:"message_id"`
	} `json:"newest"`
}

func unread(t *testing.T, user, dataDir string) []unreadLine {
	t.Helper()
	mustRun(t, user, "--data-dir", dataDir, "archive", "sync")
	r := mustRun(t, user, "--data-dir", dataDir, "--json", "archive", "unread")
	var out []unreadLine
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if line == "" {
			continue
		}
		var u unreadLine
		if err := json.Unmarshal([]byte(line), &u); err != nil {
			t.Fatalf("archive unread --json: %v: %q", err, line)
		}
		out = append(out, u)
	}
	return out
}

// TestUnreadFollowsOtherDeviceAndArchiveRead: the counts of "archive
// unread" follow the displayed markers the account's other device (a
// second resource, slixmpp) sends; "archive read" sends a displayed marker
// naming the newest message by its id, which the other device receives
// as a sent carbon and the contact as a marker, and the conversation is
// then read.
func TestUnreadFollowsOtherDeviceAndArchiveRead(t *testing.T) {
	a, b := srv.NewUser(t, "ua"), srv.NewUser(t, "ub")
	aJID, bJID := srv.JID(a), srv.JID(b)
	data := t.TempDir()
	other := startPeer(t, a)
	contact := startPeer(t, b)
	for i, body := range []string{"one", "two", "three"} {
		contact.do(map[string]any{"cmd": "send", "to": aJID, "body": body, "id": "m" + string(rune('1'+i)), "markable": true})
	}
	contact.sync()
	if got := unread(t, a, data); len(got) != 1 || got[0].With != bJID || got[0].Unread != 3 || got[0].Newest.Body != "three" {
		t.Fatalf("before any marker: %+v", got)
	}
	other.do(map[string]any{"cmd": "displayed", "to": bJID, "id": "m2"})
	other.sync()
	if got := unread(t, a, data); len(got) != 1 || got[0].Unread != 1 || got[0].Newest.MessageID != "m3" {
		t.Fatalf("after the other device displayed m2: %+v\n%s", got, mustRun(t, a, "--data-dir", data, "--json", "archive", "list", "--all").Stdout)
	}

	r := mustRun(t, a, "--data-dir", data, "--json", "archive", "read", bJID)
	var res readResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || res.MessageID != "m3" || res.With != bJID {
		t.Fatalf("archive read: %v %s", err, r.Stdout)
	}
	c := other.waitFor("the marker as a sent carbon", func(e event) bool {
		return e.s("event") == "carbon_sent" && e.s("marker") == "displayed"
	})
	if c.s("marker_id") != "m3" || !strings.HasPrefix(c.s("to"), bJID) {
		t.Errorf("carbon: %v", c)
	}
	contact.waitFor("the marker", func(e event) bool {
		return e.s("event") == "message" && e.s("marker") == "displayed" && e.s("marker_id") == "m3"
	})
	// Recorded locally: read before any sync brings the marker back.
	if r := mustRun(t, a, "--data-dir", data, "--json", "archive", "unread"); r.Stdout != "" {
		t.Fatalf("after archive read, before a sync: %s", r.Stdout)
	}
	if got := unread(t, a, data); len(got) != 0 {
		t.Fatalf("after archive read and a sync: %+v", got)
	}
	// A device with no local record learns the read point from MAM alone:
	// the marker was archived (its store hint makes ejabberd keep it).
	if got := unread(t, a, t.TempDir()); len(got) != 0 {
		t.Fatalf("a fresh data dir after archive read: %+v", got)
	}

	// A new message is unread again, until the other device displays it.
	contact.do(map[string]any{"cmd": "send", "to": aJID, "body": "four", "id": "m4", "markable": true})
	contact.sync()
	if got := unread(t, a, data); len(got) != 1 || got[0].Unread != 1 || got[0].Newest.Body != "four" {
		t.Fatalf("after a new message: %+v", got)
	}
	other.do(map[string]any{"cmd": "displayed", "to": bJID, "id": "m4"})
	other.sync()
	if got := unread(t, a, data); len(got) != 0 {
		t.Fatalf("after the other device displayed m4: %+v", got)
	}
	// Text output.
	if r := mustRun(t, a, "--data-dir", data, "archive", "unread"); r.Stdout != "" || !strings.Contains(r.Stderr, "no unread") {
		t.Errorf("text output: %q %q", r.Stdout, r.Stderr)
	}
	// Nothing to mark: a usage error before connecting.
	if r := xmppctl(t, a, "--data-dir", data, "archive", "read", "nobody@"+srv.Domain); r.Code != 2 {
		t.Errorf("read without messages: exit %d %s", r.Code, r.Stderr)
	}
}

type readResult struct {
	With      string `json:"with"`
	MessageID string `json:"message_id"`
	MarkerID  string `json:"marker_id"`
}
