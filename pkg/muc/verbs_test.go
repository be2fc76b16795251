package muc

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// The verbs against a scripted room (xmpptest): what goes on the wire and
// how the room's answers map to results and errors.

const room = "ops@conference.example.org"

func element(t *testing.T, s string) stanza.Element {
	t.Helper()
	var el stanza.Element
	if err := xml.Unmarshal([]byte(s), &el); err != nil {
		t.Fatalf("bad test XML %s: %v", s, err)
	}
	return el
}

// refuse is an IQ error answer as conn.Session returns it.
func refuse(cond stanza.Condition) (*stanza.IQ, error) {
	se := &stanza.Error{Type: stanza.Cancel, Condition: cond}
	return &stanza.IQ{Type: "error", Error: se}, se
}

// roomInfo is a disco#info result for a room with the given features.
func roomInfo(t *testing.T, features ...string) *stanza.IQ {
	t.Helper()
	inner := `<identity category='conference' type='text' name='ops'/><feature var='` + NS + `'/>`
	for _, f := range features {
		inner += `<feature var='` + f + `'/>`
	}
	return &stanza.IQ{Type: "result", From: room, Query: element(t, `<query xmlns='http://jabber.org/protocol/disco#info'>`+inner+`</query>`)}
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	// A deadline only so that a broken join loop fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestJoin(t *testing.T) {
	self := func(st ...stanza.Stanza) []stanza.Stanza { return st }
	tests := []struct {
		name     string
		disco    func(t *testing.T) (*stanza.IQ, error)
		answer   []stanza.Stanza // the room's presences after our join presence
		password string
		wantErr  string // "" for a join
		wantCond string // the stanza error's condition, when refused
	}{
		{name: "joined after the other occupants",
			answer: self(&stanza.Presence{From: room + "/bob"}, &stanza.Presence{From: room + "/bot"})},
		{name: "room JID in another case",
			answer: self(&stanza.Presence{From: "Ops@Conference.example.org/bob", Type: stanza.ErrorPresence,
				Error: &stanza.Error{Condition: "conflict"}}, &stanza.Presence{From: room + "/bot"}),
			wantErr: "join " + room + ": conflict (the nickname is in use)", wantCond: "conflict"},
		{name: "another room's error is not ours",
			answer: self(&stanza.Presence{From: "other@conference.example.org/bot", Type: stanza.ErrorPresence,
				Error: &stanza.Error{Condition: "forbidden"}}, &stanza.Presence{From: room + "/bot"})},
		{name: "password sent", password: "s3cret",
			answer: self(&stanza.Presence{From: room + "/bot"})},
		{name: "wrong password",
			answer: self(&stanza.Presence{From: room + "/bot", Type: stanza.ErrorPresence,
				Error: &stanza.Error{Type: "auth", Condition: "not-authorized"}}),
			wantErr: "join " + room + ": not-authorized (a password is required or wrong)", wantCond: "not-authorized"},
		{name: "banned",
			answer: self(&stanza.Presence{From: room + "/bot", Type: stanza.ErrorPresence,
				Error: &stanza.Error{Type: "auth", Condition: "forbidden"}}),
			wantErr: "join " + room + ": forbidden (you are banned from the room)", wantCond: "forbidden"},
		{name: "room missing",
			disco:   func(*testing.T) (*stanza.IQ, error) { return refuse("item-not-found") },
			wantErr: "join " + room + ": item-not-found (the room does not exist)", wantCond: "item-not-found"},
		{name: "condition without explanation",
			disco:   func(*testing.T) (*stanza.IQ, error) { return refuse("policy-violation") },
			wantErr: "join " + room + ": policy-violation", wantCond: "policy-violation"},
		{name: "connection lost",
			disco:   func(*testing.T) (*stanza.IQ, error) { return nil, errors.New("connection reset") },
			wantErr: "join " + room + ": disco#info " + room + ": connection reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := xmpptest.New()
			s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
				if tt.disco != nil {
					return tt.disco(t)
				}
				return roomInfo(t), nil
			}
			s.OnSend = func(v any) []stanza.Stanza {
				if p, ok := v.(stanza.Presence); ok && p.To == room+"/bot" {
					return tt.answer
				}
				return nil
			}
			err := Join(ctxFor(t), s, room, "bot", tt.password)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Join: %v", err)
				}
			} else if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Join error %v, want %q", err, tt.wantErr)
			}
			var se *stanza.Error
			if got := errors.As(err, &se); got != (tt.wantCond != "") || (got && string(se.Condition) != tt.wantCond) {
				t.Errorf("stanza error %v, want condition %q", se, tt.wantCond)
			}
			sent := strings.Join(s.Sent(), "\n")
			if tt.disco == nil {
				// The join presence asks for no history, with the password
				// only when there is one.
				if !strings.Contains(sent, `<history maxstanzas="0"></history>`) {
					t.Errorf("no history limit in the join:\n%s", sent)
				}
				if hasPw := strings.Contains(sent, "<password>"); hasPw != (tt.password != "") ||
					(hasPw && !strings.Contains(sent, "<password>"+tt.password+"</password>")) {
					t.Errorf("password in the join presence: %v, want %q:\n%s", hasPw, tt.password, sent)
				}
			} else if strings.Contains(sent, "<presence") {
				t.Errorf("joined a room that failed disco#info:\n%s", sent)
			}
		})
	}
}

func TestJoinEndsWithContext(t *testing.T) {
	s := xmpptest.New()
	s.OnIQ = func(stanza.IQ) (*stanza.IQ, error) { return roomInfo(t), nil }
	ctx, cancel := context.WithCancel(context.Background())
	s.OnSend = func(v any) []stanza.Stanza {
		if _, ok := v.(stanza.Presence); ok {
			cancel() // the room never answers; the caller gives up
		}
		return nil
	}
	if err := Join(ctx, s, room, "bot", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("Join = %v, want the context's error", err)
	}
}

func TestLeave(t *testing.T) {
	s := xmpptest.New()
	if err := Leave(context.Background(), s, room, "bot"); err != nil {
		t.Fatal(err)
	}
	want := `<presence xmlns="jabber:client" to="` + room + `/bot" type="unavailable"></presence>`
	if got := s.Sent(); len(got) != 1 || got[0] != want {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// configForm is a room's configuration form offering the given fields.
func configForm(t *testing.T, vars ...string) *stanza.IQ {
	t.Helper()
	inner := `<field var='FORM_TYPE' type='hidden'><value>` + FormTypeConfig + `</value></field>`
	for _, v := range vars {
		inner += `<field var='` + v + `'/>`
	}
	return &stanza.IQ{Type: "result", Query: element(t, `<query xmlns='`+NSOwner+`'><x xmlns='jabber:x:data' type='form'>`+inner+`</x></query>`)}
}

func TestConfigure(t *testing.T) {
	name, yes := "Ops", true
	all := []string{"muc#roomconfig_roomname", "muc#roomconfig_persistentroom"}
	tests := []struct {
		name     string
		form     func(t *testing.T) (*stanza.IQ, error)
		submit   func() (*stanza.IQ, error)
		wantErr  string // the error's text contains this
		wantCond string // the room's condition, kept in the error
	}{
		{name: "offered and accepted", form: func(t *testing.T) (*stanza.IQ, error) { return configForm(t, all...), nil }},
		{name: "field not offered", form: func(t *testing.T) (*stanza.IQ, error) { return configForm(t, all[0]), nil },
			wantErr: "configure " + room + ": the room does not offer muc#roomconfig_persistentroom"},
		{name: "not the owner", form: func(*testing.T) (*stanza.IQ, error) { return refuse("forbidden") },
			wantErr: "get the configuration form of " + room + ": ", wantCond: "forbidden"},
		{name: "submit refused", form: func(t *testing.T) (*stanza.IQ, error) { return configForm(t, all...), nil },
			submit:  func() (*stanza.IQ, error) { return refuse("not-acceptable") },
			wantErr: "configure " + room + ": ", wantCond: "not-acceptable"},
		{name: "form garbled", form: func(t *testing.T) (*stanza.IQ, error) {
			return &stanza.IQ{Type: "result", Query: stanza.Element{XMLName: xml.Name{Space: NSOwner, Local: "query"},
				Inner: []byte(`<x xmlns='jabber:x:data'><field var='a'>`)}}, nil
		}, wantErr: "parse the room configuration form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := xmpptest.New()
			s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
				if iq.Type == "get" {
					return tt.form(t)
				}
				if tt.submit != nil {
					return tt.submit()
				}
				return &stanza.IQ{Type: "result"}, nil
			}
			err := Configure(context.Background(), s, room, Config{Name: &name, Persistent: &yes})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Configure = %v, want %q", err, tt.wantErr)
			}
			var se *stanza.Error
			if tt.wantCond != "" && (!errors.As(err, &se) || string(se.Condition) != tt.wantCond) {
				t.Errorf("Configure = %v, want the condition %s kept", err, tt.wantCond)
			}
			sent := s.Sent()
			submitted := slices.ContainsFunc(sent, func(x string) bool { return strings.Contains(x, `type="submit"`) })
			if wantSubmit := tt.wantErr == "" || tt.submit != nil; submitted != wantSubmit {
				t.Errorf("form submitted %v, want %v:\n%s", submitted, wantSubmit, strings.Join(sent, "\n"))
			}
		})
	}
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name        string
		disco       func(t *testing.T) (*stanza.IQ, error)
		reconfigure bool
		wantCreated bool
		wantErr     error  // errors.Is
		wantText    string // or the error's text contains this
		wantJoin    bool
	}{
		{name: "new room", disco: func(*testing.T) (*stanza.IQ, error) { return refuse("item-not-found") },
			wantCreated: true, wantJoin: true},
		{name: "exists", disco: func(t *testing.T) (*stanza.IQ, error) { return roomInfo(t), nil }, wantErr: ErrExists},
		{name: "exists, reconfigured", disco: func(t *testing.T) (*stanza.IQ, error) { return roomInfo(t), nil }, reconfigure: true},
		{name: "service refuses", disco: func(*testing.T) (*stanza.IQ, error) { return refuse("forbidden") },
			wantText: "create " + room + ": disco#info " + room + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := xmpptest.New()
			s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
				switch {
				case strings.Contains(xmlOf(t, iq), "disco#info"):
					return tt.disco(t)
				case iq.Type == "get":
					return configForm(t, "muc#roomconfig_persistentroom"), nil
				}
				return &stanza.IQ{Type: "result"}, nil
			}
			s.OnSend = func(v any) []stanza.Stanza {
				if p, ok := v.(stanza.Presence); ok && p.Type == stanza.AvailablePresence {
					return []stanza.Stanza{&stanza.Presence{From: room + "/owner", Ext: userEl(`<status code='201'/><status code='110'/>`)}}
				}
				return nil
			}
			yes := true
			created, err := Create(ctxFor(t), s, room, "owner", Config{Persistent: &yes}, tt.reconfigure)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Create = %v, want %v", err, tt.wantErr)
				}
			case tt.wantText != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("Create = %v, want %q", err, tt.wantText)
				}
			case err != nil:
				t.Fatal(err)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			sent := strings.Join(s.Sent(), "\n")
			joined := strings.Contains(sent, `<presence xmlns="jabber:client" to="`+room+`/owner">`)
			left := strings.Contains(sent, `type="unavailable"`)
			if joined != tt.wantJoin || left != tt.wantJoin {
				t.Errorf("joined %v, left %v, want %v:\n%s", joined, left, tt.wantJoin, sent)
			}
		})
	}
}

func xmlOf(t *testing.T, v any) string {
	t.Helper()
	b, err := xml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDestroy(t *testing.T) {
	s := xmpptest.New()
	if err := Destroy(context.Background(), s, room, "moved"); err != nil {
		t.Fatal(err)
	}
	if sent := strings.Join(s.Sent(), ""); !strings.Contains(sent, `<query xmlns="`+NSOwner+`"><destroy><reason>moved</reason></destroy></query>`) {
		t.Errorf("sent %s", sent)
	}
	s.OnIQ = func(stanza.IQ) (*stanza.IQ, error) { return refuse("forbidden") }
	var se *stanza.Error
	if err := Destroy(context.Background(), s, room, ""); !errors.As(err, &se) || se.Condition != "forbidden" {
		t.Errorf("Destroy refused = %v, want forbidden kept", err)
	}
}

func TestSelfPing(t *testing.T) {
	tests := []struct {
		name    string
		answer  func() (*stanza.IQ, error)
		want    PingResult
		wantErr bool
	}{
		{"answered", func() (*stanza.IQ, error) { return &stanza.IQ{Type: "result"}, nil }, StillJoined, false},
		{"client does not answer pings", func() (*stanza.IQ, error) { return refuse("service-unavailable") }, StillJoined, false},
		{"feature-not-implemented", func() (*stanza.IQ, error) { return refuse("feature-not-implemented") }, StillJoined, false},
		{"not an occupant", func() (*stanza.IQ, error) { return refuse("not-acceptable") }, NotJoined, false},
		{"nick gone", func() (*stanza.IQ, error) { return refuse("item-not-found") }, NotJoined, false},
		{"unknown condition", func() (*stanza.IQ, error) { return refuse("undefined-condition") }, NotJoined, false},
		{"room's server unreachable", func() (*stanza.IQ, error) { return refuse("remote-server-not-found") }, Unknown, false},
		{"room's server timed out", func() (*stanza.IQ, error) { return refuse("remote-server-timeout") }, Unknown, false},
		{"connection lost", func() (*stanza.IQ, error) { return nil, errors.New("connection reset") }, Unknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := xmpptest.New()
			var to string
			s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) { to = iq.To; return tt.answer() }
			got, err := SelfPing(context.Background(), s, room, "bot")
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("SelfPing = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
			if to != room+"/bot" {
				t.Errorf("pinged %q, want our occupant JID", to)
			}
		})
	}
}

func TestMembersAndAffiliations(t *testing.T) {
	s := xmpptest.New()
	lists := map[string]string{
		"member": `<item affiliation='member' jid='Carol@example.org/phone'/><item affiliation='member' jid='bob@example.org'/>`,
		"admin":  `<item affiliation='admin' jid='bob@example.org'/><item affiliation='admin' jid='conference.example.org'/>`,
		"owner":  `<item affiliation='owner' jid='alice@example.org' nick='al'/>`,
	}
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		q := xmlOf(t, iq)
		for aff, items := range lists {
			if strings.Contains(q, `affiliation="`+aff+`"`) {
				return &stanza.IQ{Type: "result", Query: element(t, `<query xmlns='`+NSAdmin+`'>`+items+`</query>`)}, nil
			}
		}
		return refuse("bad-request")
	}
	got, err := Members(context.Background(), s, room)
	if want := []string{"alice@example.org", "bob@example.org", "carol@example.org"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Members = %v, %v; want %v", got, err, want)
	}
	owners, err := Affiliations(context.Background(), s, room, AffOwner)
	if err != nil || len(owners) != 1 || owners[0] != (Member{JID: "alice@example.org", Affiliation: AffOwner, Nick: "al"}) {
		t.Errorf("owners %+v, %v", owners, err)
	}
	s.OnIQ = func(stanza.IQ) (*stanza.IQ, error) { return refuse("forbidden") }
	var se *stanza.Error
	if _, err := Members(context.Background(), s, room); !errors.As(err, &se) || se.Condition != "forbidden" {
		t.Errorf("Members refused = %v, want forbidden kept", err)
	}
	if err := SetAffiliation(context.Background(), s, room, "eve@example.org", AffOutcast, "spam"); !errors.As(err, &se) ||
		!strings.Contains(err.Error(), "set the affiliation of eve@example.org in "+room) {
		t.Errorf("SetAffiliation refused = %v", err)
	}
	last := s.Sent()[len(s.Sent())-1]
	if !strings.Contains(last, `<item affiliation="outcast" jid="eve@example.org"><reason>spam</reason></item>`) {
		t.Errorf("sent %s", last)
	}
}

func TestPrivate(t *testing.T) {
	tests := []struct {
		features []string
		ok       bool
		why      string
	}{
		{[]string{FeatureNonAnonymous, FeatureMembersOnly}, true, ""},
		{[]string{FeatureMembersOnly}, false, "anonymous (members' real JIDs are hidden)"},
		{[]string{FeatureNonAnonymous}, false, "open to non-members"},
		{nil, false, "anonymous (members' real JIDs are hidden) and open to non-members"},
	}
	for _, tt := range tests {
		s := xmpptest.New()
		s.OnIQ = func(stanza.IQ) (*stanza.IQ, error) { return roomInfo(t, tt.features...), nil }
		ok, why, err := Private(context.Background(), s, room)
		if err != nil || ok != tt.ok || why != tt.why {
			t.Errorf("features %v: %v %q %v; want %v %q", tt.features, ok, why, err, tt.ok, tt.why)
		}
	}
}

func TestSetSubject(t *testing.T) {
	tests := []struct {
		name     string
		reflect  func(id string) *stanza.Message
		wantErr  string // the error's text starts with this
		wantCond string // the room's condition, kept in the error
	}{
		{name: "reflected", reflect: func(string) *stanza.Message {
			return &stanza.Message{From: room + "/bot", Type: stanza.GroupChatMessage, Subject: "deploys"}
		}},
		{name: "refused", reflect: func(id string) *stanza.Message {
			return &stanza.Message{ID: id, From: room, Type: stanza.ErrorMessage, Error: &stanza.Error{Type: "auth", Condition: "forbidden"}}
		}, wantErr: "set the subject of " + room + ": ", wantCond: "forbidden"},
		{name: "refused without error element", reflect: func(id string) *stanza.Message {
			return &stanza.Message{ID: id, From: room, Type: stanza.ErrorMessage}
		}, wantErr: "set the subject of " + room + ": ", wantCond: "undefined-condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := xmpptest.New()
			s.OnIQ = func(stanza.IQ) (*stanza.IQ, error) { return roomInfo(t), nil }
			s.OnSend = func(v any) []stanza.Stanza {
				switch x := v.(type) {
				case stanza.Presence:
					if x.Type == stanza.AvailablePresence {
						return []stanza.Stanza{&stanza.Presence{From: room + "/bot"}}
					}
				case stanza.Message:
					// Another occupant's subject change first: not ours.
					return []stanza.Stanza{&stanza.Message{From: "other@conference.example.org/x", Type: stanza.GroupChatMessage, Subject: "deploys"},
						tt.reflect(x.ID)}
				}
				return nil
			}
			err := SetSubject(ctxFor(t), s, room, "bot", "", "deploys")
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)) {
				t.Fatalf("SetSubject = %v, want %q", err, tt.wantErr)
			}
			var se *stanza.Error
			if tt.wantCond != "" && (!errors.As(err, &se) || string(se.Condition) != tt.wantCond) {
				t.Errorf("SetSubject = %v, want the condition %s kept", err, tt.wantCond)
			}
			if sent := s.Sent(); !strings.Contains(sent[len(sent)-1], `type="unavailable"`) {
				t.Errorf("did not leave the room: %q", sent)
			}
		})
	}
}

func TestInvite(t *testing.T) {
	s := xmpptest.New()
	if err := Invite(context.Background(), s, room, "pw", "standup", "bob@example.org", "carol@example.org"); err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	if len(sent) != 2 || s.Flushes() != 1 {
		t.Fatalf("sent %d invitations with %d flushes, want 2 and 1", len(sent), s.Flushes())
	}
	for i, to := range []string{"bob@example.org", "carol@example.org"} {
		if !strings.Contains(sent[i], `to="`+to+`"`) ||
			!strings.Contains(sent[i], `<x xmlns="jabber:x:conference" jid="`+room+`" password="pw" reason="standup"></x>`) {
			t.Errorf("invitation %d: %s", i, sent[i])
		}
	}
}

func TestParseUser(t *testing.T) {
	tests := []struct {
		name  string
		ext   []stanza.Element
		want  User
		found bool
	}{
		{name: "none", ext: nil},
		{name: "other namespace", ext: []stanza.Element{{XMLName: xml.Name{Space: NS, Local: "x"}}}},
		{name: "self, non-anonymous room",
			ext:   userEl(`<item affiliation='owner' role='moderator' jid='bot@example.org/x'/><status code='110'/><status code='100'/>`),
			want:  User{Affiliation: AffOwner, Role: "moderator", JID: "bot@example.org/x", Statuses: []Status{StatusSelf, StatusNonAnonymous}},
			found: true},
		{name: "created", ext: userEl(`<status code='201'/><status code='110'/>`),
			want: User{Statuses: []Status{StatusCreated, StatusSelf}}, found: true},
		{name: "kicked with reason",
			ext:   userEl(`<item affiliation='none' role='none'><reason>flood</reason></item><status code='307'/>`),
			want:  User{Affiliation: AffNone, Role: "none", Reason: "flood", Statuses: []Status{StatusKicked}},
			found: true},
		{name: "codes out of range dropped", ext: userEl(`<status code='99'/><status code='1000'/><status code='-110'/><status code=' 110'/><status code='333'/>`),
			want: User{Statuses: []Status{StatusRemovedByPing}}, found: true},
		{name: "destroyed", ext: userEl(`<destroy jid='new@conference.example.org'><reason>moved</reason></destroy>`),
			want: User{Destroyed: true, DestroyWhy: "moved"}, found: true},
		{name: "first item counts", ext: userEl(`<item affiliation='member' role='participant'/><item affiliation='owner' role='moderator'/>`),
			want: User{Affiliation: AffMember, Role: "participant"}, found: true},
		{name: "malformed", ext: userEl(`<item affiliation='member'>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseUser(tt.ext)
			if ok != tt.found {
				t.Fatalf("found = %v, want %v", ok, tt.found)
			}
			if got.Affiliation != tt.want.Affiliation || got.Role != tt.want.Role || got.JID != tt.want.JID ||
				got.Reason != tt.want.Reason || !slices.Equal(got.Statuses, tt.want.Statuses) ||
				got.Destroyed != tt.want.Destroyed || got.DestroyWhy != tt.want.DestroyWhy {
				t.Errorf("ParseUser = %+v, want %+v", got, tt.want)
			}
			for _, st := range tt.want.Statuses {
				if !got.Has(st) {
					t.Errorf("Has(%d) = false", st)
				}
			}
			if got.Has(StatusBanned) {
				t.Error("Has(301) without the code")
			}
		})
	}
}

func TestOccupantID(t *testing.T) {
	ext := []stanza.Element{
		{XMLName: xml.Name{Space: "urn:xmpp:occupant-id:1", Local: "occupant-id"}, Attrs: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: "other-version"}}},
		{XMLName: xml.Name{Space: NSOccupantID, Local: "occupant-id"}, Attrs: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: "a1b2"}}},
	}
	if got := OccupantID(ext); got != "a1b2" {
		t.Errorf("OccupantID = %q, want a1b2", got)
	}
	if got := OccupantID(ext[:1]); got != "" {
		t.Errorf("OccupantID without XEP-0421 = %q", got)
	}
}

func TestRemovalStrings(t *testing.T) {
	for r, want := range map[Removal]string{
		RemovedKicked: "kicked", RemovedBanned: "banned", RemovedDestroyed: "room destroyed",
		RemovedMembers: "removed: the room is members-only", RemovedShutdown: "the service is shutting down",
		RemovedOther: "removed by the room",
	} {
		if got := r.String(); got != want {
			t.Errorf("%d: %q, want %q", r, got, want)
		}
		if final := r == RemovedKicked || r == RemovedBanned || r == RemovedDestroyed || r == RemovedMembers; r.Final() != final {
			t.Errorf("%v.Final() = %v", r, r.Final())
		}
	}
}
