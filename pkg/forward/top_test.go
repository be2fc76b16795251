package forward

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Messages as servers put them at the top level of a stream.
var topSeeds = []string{
	// Prosody, an archive result (the receive loop's hot path).
	`<message to='alice@localhost/r' id='q1'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='8f6b'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-28T12:56:04Z'/><message xmlns='jabber:client' type='chat' to='alice@localhost' id='7c9f' xml:lang='en' from='bob@localhost/x'><body>archived &lt;1&gt;</body><origin-id id='7c9f' xmlns='urn:xmpp:sid:0'/></message></forwarded></result></message>`,
	`<message from='bob@localhost/x' to='alice@localhost/r' type='chat' id='c1' xml:lang='en'><body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='alice@localhost'/></message>`,
	`<message xmlns="jabber:client" from="r@muc/n" type="groupchat"><subject xml:lang="de">topic</subject><thread parent="p">t</thread><x xmlns="http://jabber.org/protocol/muc#user"><status code="100"/></x></message>`,
	`<message/>`,
	`<message type='error' id='e'/>`,
	// What is left to encoding/xml.
	`<message type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
	`<message><body xml:lang='de'>a</body><body>b</body></message>`,
	`<message xmlns='jabber:server'><body>x</body></message>`,
	`<message><body>x</body></message><message/>`,
	`<message><body><![CDATA[x]]></body></message>`,
	`<presence/>`,
	`<message><body>a &amp; b</body>`,
	`<message><body>]]></body></message>`,
}

// TopMessage gives what encoding/xml gives for every message it takes,
// and takes the servers' plain shapes.
func TestTopMessageMatchesEncodingXML(t *testing.T) {
	for i, s := range topSeeds {
		checkTop(t, []byte(s))
		if _, ok := TopMessage([]byte(s), stanza.NSClient); i < 5 && !ok {
			t.Errorf("seed %d not taken: %s", i, s)
		}
		if _, ok := TopMessage([]byte(s), stanza.NSClient); i >= 5 && ok {
			t.Errorf("seed %d taken, want it left to encoding/xml: %s", i, s)
		}
	}
}

func FuzzTopMessageMatchesEncodingXML(f *testing.F) {
	for _, s := range append(topSeeds, fastSeeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkTop(t, []byte(s)) })
}

func checkTop(t *testing.T, in []byte) {
	t.Helper()
	fast, ok := TopMessage(in, stanza.NSClient)
	if !ok {
		return
	}
	slow, err := decodeTopReference(in)
	if err != nil {
		t.Fatalf("TopMessage took what encoding/xml rejects (%v): %q", err, in)
	}
	for i := range fast.Ext {
		fast.Ext[i].Inner = bytes.Clone(fast.Ext[i].Inner)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("TopMessage differs for %q:\nfast %#v\nslow %#v", in, fast, slow)
	}
}

// decodeTopReference decodes in as the first element inside a client
// stream, with encoding/xml.
func decodeTopReference(in []byte) (*stanza.Message, error) {
	head := `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`
	dec := xml.NewDecoder(io.MultiReader(bytes.NewReader([]byte(head)), bytes.NewReader(in)))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			var m stanza.Message
			if err := dec.DecodeElement(&m, &start); err != nil {
				return nil, err
			}
			for i := range m.Ext {
				m.Ext[i].Inner = bytes.Clone(m.Ext[i].Inner)
			}
			return &m, nil
		}
	}
}

// A start tag with thousands of attributes (a hostile peer's) parses as
// encoding/xml parses it, its grown buffer is not kept for the next parse,
// and an archive result parsed after it is still right.
func TestTopMessageManyAttributes(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("<message id='m'><x xmlns='urn:x'")
	for i := range 5000 {
		fmt.Fprintf(&b, " a%d='%d'", i, i)
	}
	b.WriteString("/><body>hi</body></message>")
	if _, ok := TopMessage(b.Bytes(), stanza.NSClient); !ok {
		t.Fatal("not taken")
	}
	checkTop(t, b.Bytes())
	p := parser{}
	p.borrow()
	if cap(p.attrs) > maxPooledAttrs {
		t.Errorf("the pool hands out a buffer of %d attributes", cap(p.attrs))
	}
	p.release()
	checkTop(t, []byte(topSeeds[0]))
}

// An archive result costs few allocations: the names come from Intern,
// the attribute buffer from the pool, the intermediate message from the
// stack (issue 16: 33 allocations per result at the ninth stop).
func TestTopMessageAllocs(t *testing.T) {
	in := []byte(topSeeds[0])
	n := testing.AllocsPerRun(200, func() {
		if _, ok := TopMessage(in, stanza.NSClient); !ok {
			t.Fatal("not taken")
		}
	})
	if n > 8 {
		t.Errorf("%v allocations per archive result, want at most 8", n)
	}
}
