package receipts

import (
	"encoding/xml"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestAnswer(t *testing.T) {
	req := stanza.Element{XMLName: xml.Name{Space: NS, Local: "request"}}
	tests := []struct {
		name string
		m    stanza.Message
		ok   bool
	}{
		{"asked", stanza.Message{ID: "m1", From: "bob@x/r", Type: stanza.ChatMessage, Ext: []stanza.Element{req}}, true},
		{"not asked", stanza.Message{ID: "m1", From: "bob@x/r", Type: stanza.ChatMessage}, false},
		{"no id", stanza.Message{From: "bob@x/r", Ext: []stanza.Element{req}}, false},
		{"groupchat", stanza.Message{ID: "m1", From: "r@muc/n", Type: stanza.GroupChatMessage, Ext: []stanza.Element{req}}, false},
		{"error", stanza.Message{ID: "m1", From: "bob@x/r", Type: stanza.ErrorMessage, Ext: []stanza.Element{req}}, false},
	}
	for _, tt := range tests {
		r, ok := Answer(&tt.m)
		if ok != tt.ok {
			t.Errorf("%s: ok = %v", tt.name, ok)
			continue
		}
		if ok {
			b, _ := xml.Marshal(r)
			if want := `<message xmlns="jabber:client" to="bob@x/r" type="chat"><received xmlns="urn:xmpp:receipts" id="m1"></received></message>`; string(b) != want {
				t.Errorf("%s: %s", tt.name, b)
			}
		}
	}
}
