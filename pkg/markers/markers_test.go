package markers

import (
	"encoding/xml"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestFindAndMarkable(t *testing.T) {
	m := &stanza.Message{Ext: []stanza.Element{
		{XMLName: xml.Name{Space: NS, Local: "markable"}},
		{XMLName: xml.Name{Space: NS, Local: "displayed"}, Attrs: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: "m1"}}},
	}}
	if !IsMarkable(m) {
		t.Error("not markable")
	}
	if kind, id, ok := Find(m); !ok || kind != KindDisplayed || id != "m1" {
		t.Errorf("Find = %q %q %v", kind, id, ok)
	}
	if _, _, ok := Find(&stanza.Message{Body: "x"}); ok {
		t.Error("marker found in a plain message")
	}
	b, err := xml.Marshal(New(KindReceived, "a<b"))
	if err != nil || string(b) != `<received xmlns="urn:xmpp:chat-markers:0" id="a&lt;b"></received>` {
		t.Errorf("marshal: %s %v", b, err)
	}
}
