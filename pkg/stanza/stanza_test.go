package stanza

import (
	"encoding/xml"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

type ext struct {
	XMLName xml.Name `xml:"urn:example x"`
	V       string   `xml:"v,attr"`
}

func TestMarshalGolden(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"message.xml", Message{ID: "m1", To: "bob@example.org", Type: ChatMessage, Subject: "s <&>",
			Body: "a ]]> b \"'", Thread: "t1", Payload: []any{ext{V: `"><evil/>`}}}},
		{"presence.xml", Presence{To: "room@muc.example.org/nick", Payload: []any{ext{V: "1"}}}},
		{"iq.xml", IQ{ID: "q1", To: "example.org", Type: "get", Payload: ext{V: "2"}}},
		{"iq-error.xml", IQ{ID: "q2", To: "a@b", Type: "error", Error: &Error{Type: "cancel", Condition: "item-not-found", Text: "gone"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := xml.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.name, b, *update)
		})
	}
}

func TestMessageRoundTrip(t *testing.T) {
	in := Message{ID: "m1", From: "a@b/c", To: "d@e", Type: ChatMessage, Body: "<hi> & bye",
		Payload: []any{ext{V: "x"}}, Error: &Error{Type: "cancel", Condition: "service-unavailable"}}
	b, err := xml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Message
	if err := xml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Body != in.Body || out.ID != in.ID || out.Error == nil || out.Error.Condition != "service-unavailable" {
		t.Fatalf("round trip: got %+v", out)
	}
	el, ok := Find(out.Ext, "urn:example", "x")
	if !ok || el.Attr("v") != "x" {
		t.Fatalf("extension lost: %+v", out.Ext)
	}
	var e ext
	if err := el.Decode(&e); err != nil || e.V != "x" {
		t.Fatalf("decode extension: %v %+v", err, e)
	}
}

func TestErrorUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want Error
	}{
		{`<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`,
			Error{Type: "cancel", Condition: "item-not-found"}},
		{`<error type='modify' by='x'><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'> File too large </text><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><file-too-large xmlns='urn:xmpp:http:upload:0'/></error>`,
			Error{Type: "modify", By: "x", Condition: "not-acceptable", Text: "File too large"}},
		{`<error/>`, Error{}},
	}
	for _, tt := range tests {
		var got Error
		if err := xml.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	err := error(&Error{Condition: "item-not-found"})
	if !errors.Is(err, &Error{Condition: "item-not-found"}) || errors.Is(err, &Error{Condition: "conflict"}) {
		t.Fatal("errors.Is by condition broken")
	}
	if got := err.Error(); got != "remote error: item-not-found" {
		t.Errorf("Error() = %q", got)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
		{"bell\x07null\x00esc\x1b", "bellnullesc"},
		{"bad utf8 \xff\xfe end", "bad utf8  end"},
		{"nonchar \uFFFE\uFFFF ok", "nonchar  ok"},
		{"emoji 🎉 ü", "emoji 🎉 ü"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSanitizeMarshal(f *testing.F) {
	for _, s := range []string{"", "a", "\x00\x01", "]]>", "\xff", "<x/>&amp;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := Message{To: "a@b", Body: Sanitize(s), Subject: Sanitize(s)}
		b, err := xml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var out Message
		if err := xml.Unmarshal(b, &out); err != nil {
			t.Fatalf("marshalled message does not parse: %v\n%s", err, b)
		}
		// encoding/xml normalises CR to LF on reading.
		want := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\r", "\n")
		if out.Body != want {
			t.Fatalf("body changed: %q -> %q", m.Body, out.Body)
		}
	})
}

func FuzzParseIncoming(f *testing.F) {
	for _, s := range []string{
		`<message xmlns='jabber:client' type='error' id='1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<iq xmlns='jabber:client' type='result' id='2'><query xmlns='q' a='b'><x/></query></iq>`,
		`<presence xmlns='jabber:client'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []any{&Message{}, &Presence{}, &IQ{}} {
			if xml.Unmarshal([]byte(s), v) != nil {
				continue
			}
			// Whatever parsed must marshal again.
			if _, err := xml.Marshal(v); err != nil {
				t.Fatalf("re-marshal %T: %v", v, err)
			}
		}
	})
}
