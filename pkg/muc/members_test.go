package muc

import (
	"encoding/xml"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func FuzzMemberJIDs(f *testing.F) {
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='Bob@x/r'/><item affiliation='member' jid='x'/></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var el stanza.Element
		if xml.Unmarshal(data, &el) != nil {
			return
		}
		list, err := ParseAffiliations(el)
		if err != nil {
			return
		}
		for _, j := range MemberJIDs(list) {
			if j == "" {
				t.Fatal("empty JID")
			}
		}
	})
}

func TestMemberJIDs(t *testing.T) {
	var el stanza.Element
	_ = xml.Unmarshal([]byte(`<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='Bob@x/r'/><item affiliation='member' jid='x'/></query>`), &el)
	list, err := ParseAffiliations(el)
	got := MemberJIDs(list)
	if err != nil || len(got) != 1 || got[0] != "bob@x" {
		t.Fatalf("got %v, %v", got, err)
	}
}
