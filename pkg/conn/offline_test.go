package conn

import (
	"encoding/xml"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestIsOfflineMessage(t *testing.T) {
	delay := stanza.Element{XMLName: xml.Name{Space: stanza.NSDelay, Local: "delay"}}
	tests := []struct {
		name string
		st   stanza.Stanza
		want bool
	}{
		{"chat with delay", &stanza.Message{Type: stanza.ChatMessage, Body: "hi", Ext: []stanza.Element{delay}}, true},
		{"no type with delay", &stanza.Message{Body: "hi", Ext: []stanza.Element{delay}}, true},
		{"normal with delay", &stanza.Message{Type: stanza.NormalMessage, Body: "hi", Ext: []stanza.Element{delay}}, true},
		{"live chat", &stanza.Message{Type: stanza.ChatMessage, Body: "hi"}, false},
		{"room history", &stanza.Message{Type: stanza.GroupChatMessage, Body: "hi", Ext: []stanza.Element{delay}}, false},
		{"error bounce", &stanza.Message{Type: stanza.ErrorMessage, Body: "hi", Ext: []stanza.Element{delay}}, false},
		{"receipt", &stanza.Message{Type: stanza.ChatMessage, Ext: []stanza.Element{delay}}, false},
		{"presence", &stanza.Presence{}, false},
	}
	for _, tt := range tests {
		if got := isOfflineMessage(tt.st); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
