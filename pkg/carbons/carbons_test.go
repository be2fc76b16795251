package carbons

import (
	"encoding/xml"
	"errors"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func carbon(from, dir, inner string) *stanza.Message {
	return &stanza.Message{From: from, To: "me@x/r1", Ext: []stanza.Element{{
		XMLName: xml.Name{Space: NS, Local: dir},
		Inner:   []byte(`<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='me@x/r2' to='bob@x' type='chat' id='m1'><body>hi</body></message></forwarded>` + inner),
	}}}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		m       *stanza.Message
		carbon  bool
		dir     Direction
		wantErr error
	}{
		{"sent", carbon("me@x", "sent", ""), true, Sent, nil},
		{"received", carbon("ME@x", "received", ""), true, Received, nil},
		{"forged by a contact", carbon("mallory@x", "sent", ""), true, "", ErrForged},
		{"forged from a full JID of ours", carbon("me@x/r3", "sent", ""), true, "", ErrForged},
		{"ordinary message", &stanza.Message{From: "bob@x/r", Body: "hi"}, false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok, err := Parse(tt.m, "me@x/r1")
			if ok != tt.carbon || !errors.Is(err, tt.wantErr) {
				t.Fatalf("ok=%v err=%v; want %v %v", ok, err, tt.carbon, tt.wantErr)
			}
			if err == nil && ok && (c.Direction != tt.dir || c.Message.Body != "hi" || c.Message.From != "me@x/r2") {
				t.Errorf("carbon %+v %+v", c, c.Message)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("sent", `<forwarded xmlns='urn:xmpp:forward:0'><message><body>x</body></message></forwarded>`)
	f.Add("received", `<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/><message/></forwarded>`)
	f.Fuzz(func(t *testing.T, dir, inner string) {
		m := &stanza.Message{From: "me@x", Ext: []stanza.Element{{XMLName: xml.Name{Space: NS, Local: dir}, Inner: []byte(inner)}}}
		c, ok, err := Parse(m, "me@x")
		if ok && err == nil && (c == nil || c.Message == nil) {
			t.Fatal("carbon without message")
		}
	})
}
