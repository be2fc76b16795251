package forward

import (
	"encoding/xml"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestFind(t *testing.T) {
	inner := `<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00.5+02:00'/>` +
		`<message xmlns='jabber:client' from='a@x/r' to='b@x' id='i1' type='chat' xml:lang='en'>` +
		`<body xml:lang='de'>hallo</body><body>hello</body><thread>t</thread><request xmlns='urn:xmpp:receipts'/></message></forwarded>`
	f, err := Find([]byte(inner))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 5, 1, 8, 0, 0, 5e8, time.UTC); !f.Stamp.Equal(want) {
		t.Errorf("stamp %v, want %v", f.Stamp, want)
	}
	m := f.Message
	if m.Body != "hello" || m.From != "a@x/r" || m.To != "b@x" || m.ID != "i1" || m.Thread != "t" {
		t.Errorf("message %+v", m)
	}
	if _, ok := stanza.Find(m.Ext, stanza.NSReceipts, "request"); !ok {
		t.Errorf("extension lost: %+v", m.Ext)
	}
}

func TestFindErrors(t *testing.T) {
	for _, inner := range []string{
		``,
		`<forwarded xmlns='urn:xmpp:forward:0'/>`,
		`<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='soon'/><message/></forwarded>`,
		`<forwarded xmlns='urn:xmpp:forward:0'><message>`,
		`<forwarded xmlns='other'><message/></forwarded>`,
	} {
		if _, err := Find([]byte(inner)); err == nil {
			t.Errorf("Find(%q): no error", inner)
		}
	}
}

func TestParseRejectsOtherElements(t *testing.T) {
	el := stanza.Element{XMLName: xml.Name{Space: "urn:xmpp:carbons:2", Local: "sent"}}
	if _, err := Parse(el); err == nil {
		t.Error("parsed a non-forwarded element")
	}
}

// FuzzFind: forwarded stanzas are remote input (carbons, archives).
func FuzzFind(f *testing.F) {
	f.Add(`<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z'/><message from='a@x'><body>x</body></message></forwarded>`)
	f.Add(`<forwarded xmlns='urn:xmpp:forward:0'><message type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>x</gone></error></message></forwarded>`)
	f.Fuzz(func(t *testing.T, inner string) {
		fw, err := Find([]byte(inner))
		if err != nil {
			return
		}
		if fw.Message == nil {
			t.Fatal("nil message without error")
		}
		if _, err := xml.Marshal(fw.Message); err != nil {
			t.Fatalf("parsed message does not marshal: %v", err)
		}
	})
}
