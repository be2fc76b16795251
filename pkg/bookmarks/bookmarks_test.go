package bookmarks

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func item(id, payload string) pep.Item {
	var el stanza.Element
	if err := xml.Unmarshal([]byte(payload), &el); err != nil {
		panic(err)
	}
	return pep.Item{ID: id, Payload: el}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		it   pep.Item
		want Bookmark
		ok   bool
	}{
		{"full", item("ops@conference.example.org", `<conference xmlns='urn:xmpp:bookmarks:1' name='Ops' autojoin='true'><nick>bot</nick><password>pw</password></conference>`),
			Bookmark{Room: "ops@conference.example.org", Name: "Ops", Nick: "bot", Autojoin: true, Password: "pw", HasPass: true}, true},
		{"autojoin 1", item("a@c.example.org", `<conference xmlns='urn:xmpp:bookmarks:1' autojoin='1'/>`),
			Bookmark{Room: "a@c.example.org", Autojoin: true}, true},
		{"no autojoin", item("a@c.example.org", `<conference xmlns='urn:xmpp:bookmarks:1'/>`), Bookmark{Room: "a@c.example.org"}, true},
		{"other namespace", item("a@c.example.org", `<conference xmlns='storage:bookmarks'/>`), Bookmark{}, false},
		{"full JID id", item("a@c.example.org/nick", `<conference xmlns='urn:xmpp:bookmarks:1'/>`), Bookmark{}, false},
		{"domain only", item("conference.example.org", `<conference xmlns='urn:xmpp:bookmarks:1'/>`), Bookmark{}, false},
		{"invalid JID", item("a@@b", `<conference xmlns='urn:xmpp:bookmarks:1'/>`), Bookmark{}, false},
		{"empty id", item("", `<conference xmlns='urn:xmpp:bookmarks:1'/>`), Bookmark{}, false},
		{"bad autojoin", item("a@c.example.org", `<conference xmlns='urn:xmpp:bookmarks:1' autojoin='maybe'/>`), Bookmark{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.it)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Parse = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestPublishRequest(t *testing.T) {
	b, err := xml.Marshal(conference{Name: `<Ops & "co">`, Autojoin: true, Nick: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`xmlns="urn:xmpp:bookmarks:1"`, `autojoin="true"`, `<nick>bot</nick>`, `&lt;Ops &amp; &#34;co&#34;&gt;`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "password") {
		t.Errorf("empty password sent: %s", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a@b", `<conference xmlns='urn:xmpp:bookmarks:1' name='x' autojoin='true'><nick>n</nick></conference>`)
	f.Fuzz(func(t *testing.T, id, payload string) {
		var el stanza.Element
		if xml.Unmarshal([]byte(payload), &el) != nil {
			return
		}
		_, _ = Parse(pep.Item{ID: id, Payload: el})
	})
}
