package muc

import (
	"encoding/xml"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func FuzzParseAffiliations(f *testing.F) {
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='Bob@x/r'/><item affiliation='member' jid='x'/></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var el stanza.Element
		if xml.Unmarshal(data, &el) != nil {
			return
		}
		jids, err := ParseAffiliations(el)
		if err != nil {
			return
		}
		for _, j := range jids {
			if j == "" {
				t.Fatal("empty JID")
			}
		}
	})
}

func TestParseAffiliations(t *testing.T) {
	var el stanza.Element
	_ = xml.Unmarshal([]byte(`<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='Bob@x/r'/><item affiliation='member' jid='x'/></query>`), &el)
	got, err := ParseAffiliations(el)
	if err != nil || len(got) != 1 || got[0] != "bob@x" {
		t.Fatalf("got %v, %v", got, err)
	}
}
