package cmd

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
)

func TestRoomCommandsRejectBadInputBeforeConnecting(t *testing.T) {
	room := "ops@conference.example.org"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"muc info with nick", []string{"muc", "info", room + "/nick"}, "without a /nick"},
		{"muc info of a domain", []string{"muc", "info", "conference.example.org"}, "want room@service"},
		{"muc info no room", []string{"muc", "info"}, "give one room JID"},
		{"muc affiliation bad", []string{"muc", "affiliation", room, "bob@example.org", "god"}, "invalid affiliation"},
		{"muc affiliation bad jid", []string{"muc", "affiliation", room, "@@", "member"}, "invalid JID"},
		{"muc invite bad jid", []string{"muc", "invite", room, "a@@b"}, "invalid JID"},
		{"muc create password unset", []string{"muc", "create", room, "--password"}, "no room password configured"},
		{"muc subject no text", []string{"muc", "subject", room}, "subject text"},
		{"muc password has no value", []string{"muc", "create", room, "--password=s3cret"}, "password"},
		{"bookmarks add nick", []string{"bookmarks", "add", room + "/x"}, "without a /nick"},
		{"bookmarks add password unset", []string{"bookmarks", "add", room, "--password"}, "no room password configured"},
		{"listen mentions without rooms", []string{"listen", "--mentions"}, "--mentions applies to rooms"},
		{"listen room with nick", []string{"listen", "--muc", room + "/bot"}, "without a /nick"},
		{"listen zero ping", []string{"listen", "--muc", room, "--room-ping", "0s"}, "invalid --room-ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantUsageError(t, tt.args, tt.want) })
	}
}

// TestMucInviteCarriesPasswordOnlyWhenAsked: the configured room password
// goes into an invitation only with --password (it may be another room's).
func TestMucInviteCarriesPasswordOnlyWhenAsked(t *testing.T) {
	for _, withPw := range []bool{false, true} {
		f, _, sess := testFactory(t, map[string]string{"XMPPCTL_JID": "me@example.org", "XMPPCTL_PASSWORD": "pw",
			"XMPPCTL_ROOM_PASSWORD": "r00m"})
		args := []string{"muc", "invite", "ops@conference.example.org", "bob@example.org"}
		if withPw {
			args = append(args, "--password")
		}
		if code := Run(context.Background(), f, args); code != 0 {
			t.Fatalf("exit %d: %s", code, f.IO.ErrOut.(interface{ String() string }).String())
		}
		var inv string
		for _, x := range sess.Sent() {
			if strings.Contains(x, "jabber:x:conference") {
				inv = x
			}
		}
		var m struct {
			XMLName xml.Name `xml:"message"`
			To      string   `xml:"to,attr"`
			X       struct {
				JID      string `xml:"jid,attr"`
				Password string `xml:"password,attr"`
			} `xml:"jabber:x:conference x"`
		}
		if err := xml.Unmarshal([]byte(inv), &m); err != nil || m.To != "bob@example.org" || m.X.JID != "ops@conference.example.org" {
			t.Fatalf("invitation %q: %v", inv, err)
		}
		if got := m.X.Password != ""; got != withPw {
			t.Errorf("--password=%v: invitation password %q", withPw, m.X.Password)
		}
		if sess.Flushes() == 0 {
			t.Error("invite exited without the server acknowledging")
		}
	}
}
