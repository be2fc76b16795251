package cmd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/listen"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// encoderLine is what json.Encoder writes for the message: the reference.
func encoderLine(t testing.TB, m *store.Message, room *listen.RoomInfo) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	var err error
	if room == nil {
		err = enc.Encode(m)
	} else {
		err = enc.Encode(struct {
			*store.Message
			*listen.RoomInfo
		}{m, room})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func checkMessageJSON(t *testing.T, m *store.Message, room *listen.RoomInfo) {
	t.Helper()
	var got bytes.Buffer
	if err := writeMessageJSON(&got, m, room); err != nil {
		t.Fatal(err)
	}
	if want := encoderLine(t, m, room); !bytes.Equal(got.Bytes(), want) {
		i := 0
		for i < min(got.Len(), len(want)) && got.Bytes()[i] == want[i] {
			i++
		}
		t.Fatalf("body of %d bytes: output differs from json.Encoder's at byte %d of %d/%d", len(m.Body), i, got.Len(), len(want))
	}
}

func testMessage(body string) *store.Message {
	return &store.Message{Archive: "a@example.org", StanzaID: "s1", From: `b@example.org/"body":""`, To: "a@example.org",
		With: "b@example.org", Direction: store.In, Type: "chat", Time: time.Unix(1700000000, 0).UTC(), Body: body,
		Subject: `"body":"x"`, OOB: "https://example.org/<&>"}
}

// TestWriteMessageJSON: a streamed body gives exactly json.Encoder's line,
// whatever the body holds and wherever a chunk boundary falls (inside a
// multi-byte rune, in a run of invalid bytes, at an escaped character).
func TestWriteMessageJSON(t *testing.T) {
	big := func(unit string) string { return strings.Repeat(unit, streamBodyOver/len(unit)+bodyChunk) }
	bodies := map[string]string{
		"small":         "hello <world> & \"friends\"\n",
		"empty":         "",
		"ascii":         big("x"),
		"escapes":       big("<&>\"\\\n\r\t\x00\x1f\x7f"),
		"two-byte":      big("é"),
		"three-byte":    big("€\u2028\u2029"),
		"four-byte":     big("😀"),
		"invalid":       big("\xff\xfe\x80\x80\x80\x80\x80"),
		"truncated":     big("a\xe2\x82"),
		"odd offset":    "x" + big("😀"),
		"odd offset 2":  "xy" + big("😀"),
		"odd offset 3":  "xyz" + big("€"),
		"exact chunk":   strings.Repeat("z", streamBodyOver),
		"at threshold":  strings.Repeat("z", streamBodyOver-1),
		"lone lead end": big("x") + "\xf0",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			checkMessageJSON(t, testMessage(body), nil)
			checkMessageJSON(t, testMessage(body), &listen.RoomInfo{Room: "r@muc.example.org", Nick: "body", Mention: true})
		})
	}
}

// FuzzWriteMessageJSON: for any body the streamed line is json.Encoder's.
func FuzzWriteMessageJSON(f *testing.F) {
	f.Add([]byte("hi"), uint8(0))
	f.Add([]byte("\xe2\x82\xac\xf0\x9f\x98\x80\xff"), uint8(3))
	f.Fuzz(func(t *testing.T, unit []byte, pad uint8) {
		if len(unit) == 0 {
			return
		}
		body := strings.Repeat("p", int(pad%8)) + strings.Repeat(string(unit), streamBodyOver/len(unit)+1)
		checkMessageJSON(t, testMessage(body), nil)
	})
}

// BenchmarkWriteMessageJSON reports what writing a message with a 1 MiB
// body allocates (B/op against the body's 1 MiB); json.Encoder allocated
// about twice the body.
func BenchmarkWriteMessageJSON(b *testing.B) {
	m := testMessage(strings.Repeat("x", 1<<20))
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Body)))
	for b.Loop() {
		if err := writeMessageJSON(discard{}, m, nil); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkEncoderMessageJSON is the reference: json.Encoder on the same
// message.
func BenchmarkEncoderMessageJSON(b *testing.B) {
	m := testMessage(strings.Repeat("x", 1<<20))
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Body)))
	for b.Loop() {
		if err := json.NewEncoder(discard{}).Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPrintTextPieces: the plain-text line written in pieces is the head,
// the tags and the sanitised body with continuation lines indented.
func TestPrintTextPieces(t *testing.T) {
	for _, body := range []string{"", "one", "two\nlines\n", "\x1b[31mred\x1b[0m\nnext\r\nlast", strings.Repeat("long\n", 5000)} {
		var b bytes.Buffer
		p := &messagePrinter{w: &b, local: time.UTC}
		m := testMessage(body)
		if err := p.print(m); err != nil {
			t.Fatal(err)
		}
		head := p.head(m)
		if want := head + p.text(m, len(head)) + "\n"; b.String() != want {
			t.Errorf("body %.20q: got %.200q, want %.200q", body, b.String(), want)
		}
	}
}
