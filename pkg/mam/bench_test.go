package mam

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/forward"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// parseResultReference is how results were decoded before issue 16: the
// whole element re-encoded (stanza.Element.Decode) and decoded by
// encoding/xml into a struct embedding forward.XML. It is the reference
// ParseResultElement is measured and checked against.
func parseResultReference(el stanza.Element) (*Result, error) {
	var w struct {
		XMLName   xml.Name     `xml:"urn:xmpp:mam:2 result"`
		QueryID   string       `xml:"queryid,attr"`
		ID        string       `xml:"id,attr"`
		Forwarded *forward.XML `xml:"urn:xmpp:forward:0 forwarded"`
	}
	if err := el.Decode(&w); err != nil {
		return nil, err
	}
	if w.ID == "" || w.Forwarded == nil {
		return nil, fmt.Errorf("incomplete result")
	}
	f, err := w.Forwarded.Parse()
	if err != nil {
		return nil, err
	}
	return &Result{QueryID: w.QueryID, ID: w.ID, Stamp: f.Stamp, Message: f.Message}, nil
}

// page is one archive page as Prosody sends it (the elements go-xmpp
// hands over): n results of the bench's shape.
func page(tb testing.TB, n int) []stanza.Element {
	tb.Helper()
	out := make([]stanza.Element, n)
	for i := range out {
		raw := fmt.Sprintf(`<result xmlns='urn:xmpp:mam:2' queryid='q1' id='8f6b8b3e-2f0c-4b1e-9d7a-%012d'>`+
			`<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-28T12:56:04Z'/>`+
			`<message xmlns='jabber:client' type='chat' to='alice@localhost' id='7c9f531edfd5b670a6' xml:lang='en' from='bob@localhost/xmppctl~u_gquGws7pMY_BHNMMtiq9Tz'>`+
			`<body>archived message %05d, don&apos;t &lt;panic&gt;</body><origin-id id='7c9f531edfd5b670a6' xmlns='urn:xmpp:sid:0'/></message></forwarded></result>`, i, i)
		el, err := element(tb, raw)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = el
	}
	return out
}

// FuzzParseResultMatchesReference: ParseResultElement and the reference
// accept the same results and decode them the same.
func FuzzParseResultMatchesReference(f *testing.F) {
	f.Add(prosodyResult)
	f.Add(`<result xmlns='urn:xmpp:mam:2' id='x'><forwarded xmlns='urn:xmpp:forward:0'><message><body>a</body><body xml:lang='de'>b</body></message></forwarded></result>`)
	f.Fuzz(func(t *testing.T, raw string) {
		el, err := element(t, raw)
		if err != nil {
			return
		}
		got, err := ParseResultElement(el)
		want, werr := parseResultReference(el)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: ParseResultElement error %v, reference error %v", raw, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: ParseResultElement = %+v %+v, reference %+v %+v", raw, got, got.Message, want, want.Message)
		}
	})
}

// The fast decode gives the reference's result, message for message.
func TestParseResultMatchesReference(t *testing.T) {
	els := page(t, 3)
	for _, raw := range []string{prosodyResult,
		`<result xmlns='urn:xmpp:mam:2' id='x' queryid='q'><forwarded xmlns='urn:xmpp:forward:0'><message><body><![CDATA[a<b]]></body></message></forwarded></result>`} {
		el, err := element(t, raw)
		if err != nil {
			t.Fatal(err)
		}
		els = append(els, el)
	}
	for _, el := range els {
		got, err := ParseResultElement(el)
		want, werr := parseResultReference(el)
		if err != nil || werr != nil {
			t.Fatalf("errors: %v / %v", err, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseResultElement = %+v %+v, reference %+v %+v", got, got.Message, want, want.Message)
		}
	}
}

// BenchmarkParsePage: decoding one page of 250 archived messages, against
// the reference decode in the same run (go test -bench ParsePage ./pkg/mam).
func BenchmarkParsePage(b *testing.B) {
	els := page(b, 250)
	for _, bm := range []struct {
		name  string
		parse func(stanza.Element) (*Result, error)
	}{{"ParseResultElement", ParseResultElement}, {"reference-encoding-xml", parseResultReference}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, el := range els {
					if _, err := bm.parse(el); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
