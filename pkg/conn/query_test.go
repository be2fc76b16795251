package conn

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var queryCases = []string{
	`<data xmlns='http://jabber.org/protocol/ibb' seq='3' sid='s1'>aGVsbG8gd29ybGQ=</data>`,
	` <data xmlns="http://jabber.org/protocol/ibb" seq="0" sid="x">qg==</data> `,
	`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc'/><feature var='a'/></query>`,
	`<ping xmlns='urn:xmpp:ping'/>`,
	`<ping xmlns='urn:xmpp:ping'></ping>`,
	`<query xmlns='jabber:iq:version'/><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`,
	`<t xmlns='urn:x'>a &amp; b &lt;c&gt;</t>`,
	`<t xmlns='urn:x'><![CDATA[<raw>]]></t>`,
	`<t xmlns='urn:x'><!-- note -->text</t>`,
	`<p:t xmlns:p='urn:x' p:a='1'>text</p:t>`,
	`<t xmlns='urn:x'>one</t><t xmlns='urn:x'>two</t>`,
	`text only`,
	``,
	`<broken`,
}

// queryElement must give exactly what a full decode gives.
func checkQuery(t *testing.T, raw string) {
	var want stanza.Element
	werr := xml.Unmarshal([]byte(raw), &want)
	got, ok := queryElement([]byte(raw))
	if ok != (werr == nil) {
		t.Fatalf("%q: ok %v, full decode error %v", raw, ok, werr)
	}
	if !ok {
		return
	}
	sameAttrs := len(got.Attrs) == 0 && len(want.Attrs) == 0 || reflect.DeepEqual(got.Attrs, want.Attrs)
	if got.XMLName != want.XMLName || !sameAttrs || !bytes.Equal(got.Inner, want.Inner) {
		t.Fatalf("%q:\n got  %v %v %q\n want %v %v %q", raw, got.XMLName, got.Attrs, got.Inner, want.XMLName, want.Attrs, want.Inner)
	}
}

func TestQueryElement(t *testing.T) {
	for _, raw := range queryCases {
		checkQuery(t, raw)
	}
}

func FuzzQueryElement(f *testing.F) {
	for _, raw := range queryCases {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// Only well-formed content reaches it (go-xmpp decoded the IQ).
		if err := xml.Unmarshal([]byte("<iq>"+raw+"</iq>"), new(struct{})); err != nil {
			return
		}
		checkQuery(t, raw)
	})
}

// An in-band data block (4 KiB of payload) as the receiver sees it: the
// full decode against the start-tag-only path.
var ibbBlock = []byte(`<data xmlns='http://jabber.org/protocol/ibb' seq='7' sid='s1'>` +
	string(bytes.Repeat([]byte("QUJD"), 1366)) + `</data>`)

func BenchmarkQueryElement(b *testing.B) {
	b.SetBytes(int64(len(ibbBlock)))
	for b.Loop() {
		if _, ok := queryElement(ibbBlock); !ok {
			b.Fatal("not decoded")
		}
	}
}

func BenchmarkQueryFullDecode(b *testing.B) {
	b.SetBytes(int64(len(ibbBlock)))
	for b.Loop() {
		var el stanza.Element
		if err := xml.Unmarshal(ibbBlock, &el); err != nil {
			b.Fatal(err)
		}
	}
}
