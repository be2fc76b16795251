package muc

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func userEl(inner string) []stanza.Element {
	return []stanza.Element{{XMLName: xml.Name{Space: stanza.NSMUCUser, Local: "x"}, Inner: []byte(inner)}}
}

func TestWhyRemoved(t *testing.T) {
	tests := []struct {
		name  string
		inner string
		want  Removal
	}{
		{"kick", `<item affiliation='none' role='none'><reason>spam</reason></item><status code='307'/><status code='110'/>`, RemovedKicked},
		{"ban", `<item affiliation='outcast' role='none'/><status code='301'/><status code='110'/>`, RemovedBanned},
		{"ban without code", `<item affiliation='outcast' role='none'/>`, RemovedBanned},
		{"destroyed", `<item affiliation='none' role='none'/><destroy><reason>bye</reason></destroy>`, RemovedDestroyed},
		{"members only", `<item affiliation='none' role='none'/><status code='322'/>`, RemovedMembers},
		{"shutdown", `<item affiliation='none' role='none'/><status code='332'/>`, RemovedShutdown},
		{"ping timeout", `<item affiliation='none' role='none'/><status code='110'/><status code='333'/>`, RemovedOther},
		{"garbage code", `<status code='x'/><status code='99999'/>`, RemovedOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := ParseUser(userEl(tt.inner))
			if !ok {
				t.Fatal("not parsed")
			}
			if got := WhyRemoved(u); got != tt.want {
				t.Errorf("WhyRemoved = %v, want %v", got, tt.want)
			}
		})
	}
	if RemovedShutdown.Final() || RemovedOther.Final() || !RemovedKicked.Final() {
		t.Error("Final: kicks end a room, shutdowns and drops are rejoined")
	}
	u, _ := ParseUser(userEl(`<item jid='alice@example.org/x' affiliation='member' role='participant'/>`))
	if u.JID != "alice@example.org/x" || u.Affiliation != AffMember {
		t.Errorf("item: %+v", u)
	}
}

func TestPingVerdict(t *testing.T) {
	for cond, want := range map[stanza.Condition]PingResult{
		"not-acceptable": NotJoined, "item-not-found": NotJoined, "service-unavailable": StillJoined,
		"feature-not-implemented": StillJoined, "remote-server-timeout": Unknown, "forbidden": NotJoined,
	} {
		if got := pingVerdict(cond); got != want {
			t.Errorf("%s: %v, want %v", cond, got, want)
		}
	}
}

func TestConfigFields(t *testing.T) {
	name, yes, no, pw := "Ops", true, false, "s3cret"
	fs := Config{Name: &name, Persistent: &yes, MembersOnly: &no, NonAnonymous: &yes, Password: &pw}.fields()
	got := map[string]string{}
	for _, f := range fs {
		got[f.Var] = strings.Join(f.Values, ",")
	}
	want := map[string]string{"FORM_TYPE": FormTypeConfig, "muc#roomconfig_roomname": "Ops", "muc#roomconfig_persistentroom": "1",
		"muc#roomconfig_membersonly": "0", "muc#roomconfig_whois": "anyone", "muc#roomconfig_passwordprotectedroom": "1",
		"muc#roomconfig_roomsecret": "s3cret"}
	if len(got) != len(want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	b, err := xml.Marshal(ownerQuery{Form: &disco.Form{Type: "submit", Fields: fs}})
	if err != nil || !strings.Contains(string(b), `<x xmlns="jabber:x:data" type="submit">`) {
		t.Errorf("owner query %s %v", b, err)
	}
}

func TestFromDisco(t *testing.T) {
	d := &disco.Info{JID: "ops@conference.example.org",
		Identities: []disco.Identity{{Category: "conference", Type: "text", Name: "ops"}},
		Features:   []string{NS, "muc_membersonly", "muc_moderated", "muc_nonanonymous", "muc_"},
		Forms: []disco.Form{{Type: "result", Fields: []disco.Field{
			{Var: "FORM_TYPE", Values: []string{FormTypeRoomInfo}},
			{Var: "muc#roominfo_description", Values: []string{"the ops room"}},
			{Var: "muc#roominfo_occupants", Values: []string{"3"}},
			{Var: "muc#roominfo_subject", Values: []string{"deploys"}},
			{Var: "muc#roomconfig_roomname", Values: []string{"Ops"}},
		}}}}
	i, err := FromDisco(d)
	if err != nil {
		t.Fatal(err)
	}
	if i.Name != "Ops" || i.Description != "the ops room" || i.Occupants != 3 || i.Subject != "deploys" ||
		!i.Has("membersonly") || !i.Has("moderated") || !i.Has("nonanonymous") || len(i.Features) != 3 {
		t.Errorf("info %+v", i)
	}
	if _, err := FromDisco(&disco.Info{JID: "user@example.org", Identities: []disco.Identity{{Category: "account", Type: "registered"}}}); err == nil {
		t.Error("an account taken for a room")
	}
	d.Forms[0].Fields[2].Values = []string{"-5"}
	if i, _ := FromDisco(d); i.Occupants != -1 {
		t.Errorf("negative occupant count kept: %d", i.Occupants)
	}
}

func TestParseAffiliations(t *testing.T) {
	el := stanza.Element{XMLName: xml.Name{Space: NSAdmin, Local: "query"},
		Inner: []byte(`<item affiliation='member' jid='bob@example.org' nick='bob'/><item affiliation='member'/>`)}
	got, err := ParseAffiliations(el)
	if err != nil || len(got) != 1 || got[0].JID != "bob@example.org" || got[0].Nick != "bob" || got[0].Affiliation != AffMember {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := ParseAffiliation("god"); err == nil {
		t.Error("invalid affiliation accepted")
	}
}

func TestInvitationRoundTrip(t *testing.T) {
	b, err := xml.Marshal(Invitation{Room: "ops@conference.example.org", Password: `"<x>`, Reason: "join"})
	if err != nil {
		t.Fatal(err)
	}
	var el stanza.Element
	if err := xml.Unmarshal(b, &el); err != nil {
		t.Fatal(err)
	}
	inv, ok := ParseInvitation([]stanza.Element{el})
	if !ok || inv.Room != "ops@conference.example.org" || inv.Password != `"<x>` || inv.Reason != "join" {
		t.Errorf("%+v %v from %s", inv, ok, b)
	}
}

func FuzzParseUser(f *testing.F) {
	f.Add(`<item affiliation='none' role='none'/><status code='307'/>`)
	f.Add(`<destroy><reason>x</reason></destroy>`)
	f.Add(`<item`)
	f.Fuzz(func(t *testing.T, inner string) {
		u, ok := ParseUser(userEl(inner))
		if ok {
			_ = WhyRemoved(u).String()
		}
		_ = OccupantID([]stanza.Element{{XMLName: xml.Name{Space: NSOccupantID, Local: "occupant-id"}, Inner: []byte(inner)}})
	})
}
