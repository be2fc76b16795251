package upload

import (
	"encoding/xml"
	"flag"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRequestGolden(t *testing.T) {
	iq := stanza.IQ{ID: "r1", Type: "get", To: "upload.example.org",
		Payload: Request{Filename: `a b "q" <&> é'.txt`, Size: 1234, ContentType: "text/plain; charset=utf-8"}}
	got, err := xml.Marshal(iq)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "request.xml", got, *update)

	// Round trip: the filename survives whatever it contains.
	var back struct {
		Req Request `xml:"urn:xmpp:http:upload:0 request"`
	}
	if err := xml.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.Req.Filename != `a b "q" <&> é'.txt` || back.Req.Size != 1234 {
		t.Errorf("round trip: %+v", back.Req)
	}
}

func slotEl(t testing.TB, inner string) stanza.Element {
	t.Helper()
	var el stanza.Element
	if err := xml.Unmarshal([]byte(`<slot xmlns='urn:xmpp:http:upload:0'>`+inner+`</slot>`), &el); err != nil {
		t.Fatal(err)
	}
	return el
}

func TestParseSlot(t *testing.T) {
	tests := []struct {
		name    string
		inner   string
		want    *Slot
		wantErr string
	}{
		{
			name: "prosody",
			inner: `<get url='https://up.example.org/f/id/a%20b.txt'/><put url='https://up.example.org/f/id/a%20b.txt'>` +
				`<header name='Authorization'>Bearer abc.def</header></put>`,
			want: &Slot{PutURL: "https://up.example.org/f/id/a%20b.txt", GetURL: "https://up.example.org/f/id/a%20b.txt",
				Headers: []Header{{"Authorization", "Bearer abc.def"}}},
		},
		{
			name: "only allowed headers, case-insensitive, order and repeats kept, newlines stripped",
			inner: `<put url='https://u/p'><header name='cookie'>a=1</header><header name='Host'>evil</header>` +
				`<header name='X-Foo'>bar</header><header name='Expires'>Fri, 1 Jan 2027</header>` +
				"<header name='Cookie'>b=2\r\nX-Injected: 1</header><header name='Content-Length'>1</header></put><get url='https://u/g'/>",
			want: &Slot{PutURL: "https://u/p", GetURL: "https://u/g",
				Headers: []Header{{"Cookie", "a=1"}, {"Expires", "Fri, 1 Jan 2027"}, {"Cookie", "b=2X-Injected: 1"}}},
		},
		{name: "no put", inner: `<get url='https://u/g'/>`, wantErr: "no put url"},
		{name: "no get", inner: `<put url='https://u/p'/>`, wantErr: "no get url"},
		{name: "relative", inner: `<put url='/p'/><get url='https://u/g'/>`, wantErr: "not an absolute"},
		{name: "ftp", inner: `<put url='https://u/p'/><get url='ftp://u/g'/>`, wantErr: "not an absolute"},
		{name: "javascript", inner: `<put url='https://u/p'/><get url='javascript:alert(1)'/>`, wantErr: "not an absolute"},
		{name: "space", inner: `<put url='https://u/p q'/><get url='https://u/g'/>`, wantErr: "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSlot(slotEl(t, tt.inner))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.PutURL != tt.want.PutURL || got.GetURL != tt.want.GetURL || len(got.Headers) != len(tt.want.Headers) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got.Headers {
				if got.Headers[i] != tt.want.Headers[i] {
					t.Errorf("header %d: got %+v, want %+v", i, got.Headers[i], tt.want.Headers[i])
				}
			}
		})
	}
}

func FuzzParseSlot(f *testing.F) {
	f.Add(`<get url='https://u/g'/><put url='https://u/p'><header name='Authorization'>Bearer x</header></put>`)
	f.Add(`<put url='http://127.0.0.1:5280/f/x/a%20b'><header name='Cookie'>a&amp;b</header></put><get url='http://[::1]/g'/>`)
	f.Add(`<put url=''/><get/>`)
	f.Add(`<put url='https://u/p'><header name='cookie'>` + "a\nb" + `</header></put><get url='https://u/g'/>`)
	f.Fuzz(func(t *testing.T, inner string) {
		var el stanza.Element
		if xml.Unmarshal([]byte(`<slot xmlns='urn:xmpp:http:upload:0'>`+inner+`</slot>`), &el) != nil {
			return
		}
		s, err := ParseSlot(el)
		if err != nil {
			return
		}
		for _, u := range []string{s.PutURL, s.GetURL} {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				t.Fatalf("accepted url %q", u)
			}
		}
		for _, h := range s.Headers {
			if _, ok := allowedHeaders[strings.ToLower(h.Name)]; !ok || strings.ContainsAny(h.Value, "\r\n") {
				t.Fatalf("accepted header %+v", h)
			}
		}
		// Stable: parsing the parsed slot again gives the same slot.
		again, err := ParseSlot(slotElement(s))
		if err != nil || again.PutURL != s.PutURL || again.GetURL != s.GetURL || len(again.Headers) != len(s.Headers) {
			t.Fatalf("round trip %+v -> %+v, %v", s, again, err)
		}
	})
}

// slotElement marshals a slot the way a service sends it.
func slotElement(s *Slot) stanza.Element {
	var x slotXML
	x.Put.URL, x.Get.URL, x.Put.Headers = s.PutURL, s.GetURL, s.Headers
	b, _ := xml.Marshal(x)
	var el stanza.Element
	_ = xml.Unmarshal(b, &el)
	return el
}

func TestDetectType(t *testing.T) {
	for _, tt := range []struct {
		name string
		head []byte
		want string
	}{
		{"a.png", nil, "image/png"},
		{"A.PNG", nil, "image/png"},
		{"report.pdf", []byte("whatever"), "application/pdf"},
		{"noext", []byte("\x89PNG\r\n\x1a\n0000"), "image/png"},
		{"noext", []byte("hello world\n"), "text/plain; charset=utf-8"},
		{"noext", nil, "application/octet-stream"},
		{"x.unknownext42", []byte{0, 1, 2, 3}, "application/octet-stream"},
	} {
		if got := DetectType(tt.name, tt.head); got != tt.want {
			t.Errorf("DetectType(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
