package conn

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// frameAll frames in, read through wrap, until the input or the stream
// ends.
func frameAll(in []byte, wrap func(io.Reader) io.Reader) (els []string, err error) {
	f := newFramer(wrap(bytes.NewReader(in)))
	for {
		el, err := f.next()
		if err != nil {
			return els, err
		}
		els = append(els, string(el))
	}
}

// referenceFrames is what encoding/xml sees at the top level of a stream
// with in for content: the bytes of each element, ok=false when it finds
// in malformed or holding anything but elements and whitespace there.
func referenceFrames(in []byte) (els []string, ok bool) {
	// A DTD declaration (encoding/xml takes them) is no XMPP: the framer
	// refuses it anywhere.
	for rest := in; ; {
		i := bytes.Index(rest, []byte("<!"))
		if i < 0 {
			break
		}
		rest = rest[i:]
		if !bytes.HasPrefix(rest, []byte("<!--")) && !bytes.HasPrefix(rest, []byte("<![CDATA[")) {
			return nil, false
		}
		rest = rest[2:]
	}
	head := "<stream:stream xmlns='jabber:client' xmlns:stream='" + nsStream + "'>"
	// The stream is closed after in, so that its end is an end tag and
	// not encoding/xml's unexpected EOF.
	dec := xml.NewDecoder(io.MultiReader(strings.NewReader(head), bytes.NewReader(in), strings.NewReader("</stream:stream>")))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	for {
		before := dec.InputOffset()
		if at := int(before) - len(head); at < len(in) {
			// Comments, CDATA and processing instructions at the top
			// level, which the framer refuses (encoding/xml gives
			// CDATA as text).
			rest := bytes.TrimLeft(in[at:], " \t\r\n")
			if bytes.HasPrefix(rest, []byte("<!")) || bytes.HasPrefix(rest, []byte("<?")) {
				return nil, false
			}
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		if end, ok := tok.(xml.EndElement); ok && end.Name.Local == "stream" && before == int64(len(head)+len(in)) {
			return els, true
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isBlank(t) {
				return nil, false
			}
		case xml.StartElement:
			if err := dec.Skip(); err != nil {
				return nil, false
			}
			raw := in[before-int64(len(head)) : dec.InputOffset()-int64(len(head))]
			els = append(els, string(bytes.TrimLeft(raw, " \t\r\n")))
		default:
			return nil, false // comments, directives, processing instructions, the stream's end
		}
	}
}

var frameSeeds = []string{
	"<message><body>hi</body></message>",
	"  <r xmlns='urn:xmpp:sm:3'/>\n<iq type='result' id='1'/>",
	"<message a='>' b=\"'/>\"><x/><![CDATA[</message>]]><!-- </message> --><?pi </message>?></message>",
	"<presence/><presence></presence>",
	"<message><x a='>'/><y b=\"x>\"/></message><message/>",
	"<a><b><c/></b></a>",
	"<message>",
	"<message><body>",
	"</stream:stream>",
	"<!-- top -->",
	"<message><!DOCTYPE x></message>",
	"text<message/>",
	"<message/></x>",
}

// The framer finds the elements encoding/xml finds, wherever reads split
// the input.
func TestFramerMatchesEncodingXML(t *testing.T) {
	for i, s := range frameSeeds {
		checkFrames(t, []byte(s))
		if _, ok := referenceFrames([]byte(s)); i < 5 && !ok {
			t.Errorf("seed %d: the reference refuses it, and the test proves nothing: %q", i, s)
		}
	}
}

func FuzzFramerMatchesEncodingXML(f *testing.F) {
	for _, s := range frameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFrames(t, []byte(s)) })
}

func checkFrames(t *testing.T, in []byte) {
	t.Helper()
	want, ok := referenceFrames(in)
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	} {
		got, err := frameAll(in, wrap)
		if !ok {
			continue // malformed: framing it may fail anywhere, but must end
		}
		if err != io.EOF {
			t.Fatalf("%s: %q: framer error %v, encoding/xml took it", name, in, err)
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%s: %q:\nframer %q\nxml    %q", name, in, got, want)
		}
	}
}

func TestFramerEnds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"<message/>\n</stream:stream>", errServerClosed},
		{"<message/></s:stream>", errServerClosed},
		{"<message/></message>", errBadEndTag},
		{"<message/>hello", errTopLevelText},
		{"<!-- x --><message/>", errTopLevelMarkup},
		{"<?xml version='1.0'?>", errTopLevelMarkup},
		{"<message><!DOCTYPE x></message>", errBadMarkup},
		{"<message><body>cut", io.ErrUnexpectedEOF},
		{"<message/>  ", io.EOF},
	} {
		_, err := frameAll([]byte(tc.in), iotest.OneByteReader)
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, err, tc.want)
		}
	}
}

// A large element grows the buffer, which shrinks back after it.
func TestFramerShrinks(t *testing.T) {
	big := "<message><body>" + strings.Repeat("x", 3*frameKeep) + "</body></message>"
	f := newFramer(strings.NewReader(big + "<message/><message/>"))
	el, err := f.next()
	if err != nil || string(el) != big {
		t.Fatalf("large element: %d bytes, %v", len(el), err)
	}
	if _, err := f.next(); err != nil {
		t.Fatal(err)
	}
	if cap(f.buf) > frameKeep {
		t.Errorf("buffer still %d bytes after the large element", cap(f.buf))
	}
}

// BenchmarkReceivePage: a page of 250 archive results, from the server's
// bytes to the stanzas a subscription gets, framed (production) against
// the same stream decoded with go-xmpp's decoder, in one run
// (go test -run XXX -bench ReceivePage -benchmem ./pkg/conn).
func BenchmarkReceivePage(b *testing.B) {
	var page bytes.Buffer
	for i := range 250 {
		fmt.Fprintf(&page, `<message to='me@example.org/r' id='p%d'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='8f6b8b3e-2f0c-4b1e-9d7a-%012d'>`+
			`<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-28T12:56:04Z'/>`+
			`<message xmlns='jabber:client' type='chat' to='me@example.org' id='7c9f531edfd5b670a6' xml:lang='en' from='bob@example.org/x'>`+
			`<body>archived message %05d, don&apos;t &lt;panic&gt;</body><origin-id id='7c9f531edfd5b670a6' xmlns='urn:xmpp:sid:0'/></message></forwarded></result></message>`, i, i, i)
	}
	for _, framed := range []bool{true, false} {
		b.Run(map[bool]string{true: "framed", false: "reference-decoder"}[framed], func(b *testing.B) {
			var opts []func(*Options)
			if !framed {
				opts = append(opts, viaDecoder)
			}
			s, c := dialScripted(b, opts...)
			sub := s.Subscribe()
			defer sub.Close()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(page.Bytes()); err != nil {
					b.Fatal(err)
				}
				for range 250 {
					if _, err := sub.Next(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
