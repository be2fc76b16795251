package conn

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

type originID struct {
	XMLName xml.Name `xml:"urn:xmpp:sid:0 origin-id"`
	ID      string   `xml:"id,attr"`
}

// failing writes a start element, then fails: the encoder is left inside
// an open element.
type failing struct{}

func (failing) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	if err := enc.EncodeToken(xml.StartElement{Name: xml.Name{Space: "urn:x", Local: "half"}}); err != nil {
		return err
	}
	return errors.New("broken payload")
}

func marshalCases() []any {
	return []any{
		stanza.Message{ID: "a1", To: "bob@example.org", Type: "chat", Body: "line 0001 <&> \"q\"",
			Payload: []any{originID{ID: "a1"}}},
		stanza.Presence{To: "room@muc.example.org/nick", Payload: []any{originID{ID: "p"}}},
		stanza.IQ{ID: "i1", Type: "get", To: "example.org", Payload: ping{}},
		stanza.Message{ID: "big", To: "bob@example.org", Body: strings.Repeat("x", 3*keepMax)},
		stanza.Message{ID: "a2", To: "carol@example.org", Type: "chat", Body: "after the large one"},
		// The outbox passes pointers, which take the direct MarshalXML path.
		&stanza.Message{ID: "a3", To: "bob@example.org", Type: "chat", Body: "by pointer <&>",
			Payload: []any{originID{ID: "a3"}}},
		&stanza.Message{ID: "big2", To: "bob@example.org", Body: strings.Repeat("y", 3*keepMax)},
		&stanza.Message{ID: "a4", To: "carol@example.org", Body: "after the large pointer"},
		&stanza.Presence{To: "room@muc.example.org/nick", Type: "unavailable", Payload: []any{originID{ID: "p2"}}},
		&stanza.IQ{ID: "i2", Type: "set", To: "example.org", Payload: ping{}},
	}
}

// marshal is what the session writes for v, without the newline, as a
// string: the copy SendOrg is given when the session cannot write itself.
func (e *stanzaEncoder) marshal(v any) (string, error) {
	line, err := e.marshalLine(v)
	if err != nil {
		return "", err
	}
	out := string(line[:len(line)-1])
	e.trim()
	return out, nil
}

// The reused encoder writes exactly what xml.Marshal writes, stanza after
// stanza, and after a failed stanza too.
func TestStanzaEncoderMatchesMarshal(t *testing.T) {
	var e stanzaEncoder
	for round := 0; round < 2; round++ {
		for i, v := range marshalCases() {
			want, err := xml.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.marshal(v)
			if err != nil {
				t.Fatalf("round %d case %d: %v", round, i, err)
			}
			if got != string(want) {
				t.Fatalf("round %d case %d:\n got %q\nwant %q", round, i, got, want)
			}
		}
		// A payload that fails half-way must not leave its open element
		// in front of the next stanza.
		if _, err := e.marshal(stanza.Message{ID: "f", Payload: []any{failing{}}}); err == nil {
			t.Fatal("failing payload marshalled without error")
		}
		if _, err := e.marshal(&stanza.Message{ID: "fp", Payload: []any{failing{}}}); err == nil {
			t.Fatal("failing payload marshalled by pointer without error")
		}
	}
}

// BenchmarkMarshalStanza compares, in one run, xml.Marshal (before issue
// 16) with the session's reused encoder, for one `send --lines` message:
// go test -run XXX -bench MarshalStanza -benchmem ./pkg/conn
func BenchmarkMarshalStanza(b *testing.B) {
	m := stanza.Message{ID: "3f2a9c0e81d4b6a7c5", To: "bob@example.org", Type: "chat", Body: "line 0001",
		Payload: []any{originID{ID: "3f2a9c0e81d4b6a7c5"}}}
	b.Run("xml.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := xml.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stanzaEncoder", func(b *testing.B) {
		b.ReportAllocs()
		var e stanzaEncoder
		for i := 0; i < b.N; i++ {
			if _, err := e.marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stanzaEncoder/pointer", func(b *testing.B) {
		b.ReportAllocs()
		var e stanzaEncoder
		for i := 0; i < b.N; i++ {
			if _, err := e.marshal(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// What one `send --lines` message costs the heap, counted (not timed): the
// garbage per line decides whether a run of a few thousand lines needs a
// collection at all (issue 16). A message by pointer, as the outbox sends
// it: the returned string, the attributes and the origin-id's encoding.
func TestMarshalMessageAllocs(t *testing.T) {
	m := &stanza.Message{ID: "3f2a9c0e81d4b6a7c5", To: "bob@example.org", Type: "chat", Body: "line 0001",
		Payload: []any{originID{ID: "3f2a9c0e81d4b6a7c5"}}}
	var e stanzaEncoder
	if _, err := e.marshal(m); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := e.marshal(m); err != nil {
			t.Fatal(err)
		}
	})
	if n > 5 {
		t.Errorf("marshal of one message: %.0f allocations, want at most 5", n)
	}
}
