package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/upload"
)

func TestUploadRejectsBadInputBeforeConnecting(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"upload"}, "at least one FILE"},
		{"missing", []string{"upload", filepath.Join(dir, "nope")}, "no such file"},
		{"directory", []string{"upload", dir}, "is a directory"},
		{"device", []string{"upload", "/dev/null"}, "not a regular file"},
		{"stdin without name", []string{"upload", "-"}, "--name"},
		{"stdin twice", []string{"upload", "--name", "x", "-", "-"}, "--name applies to a single FILE"},
		{"name for several", []string{"upload", "--name", "x", file, file}, "single FILE"},
		{"bad name", []string{"upload", "--name", "a/b", file}, "invalid file name"},
		{"size without stdin", []string{"upload", "--size", "3", file}, "--size"},
		{"negative size", []string{"upload", "--name", "x", "--size", "-1", "-"}, "--size"},
		{"bad jid", []string{"upload", "--to", "a@b@c", file}, "invalid JID"},
		{"room with nick", []string{"upload", "--muc", "room@muc/nick", file}, "invalid room"},
		{"caption alone", []string{"upload", "--caption", "hi", file}, "--caption"},
		{"jobs", []string{"upload", "--jobs", "0", file}, "--jobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantUsageError(t, tt.args, tt.want)
		})
	}
}

// fakeUploadServer answers disco and slot requests on a scripted session
// and stores PUTs.
type fakeUploadServer struct {
	http    *httptest.Server
	mu      sync.Mutex
	stored  map[string][]byte
	maxSize string
}

func newFakeUploadServer(t *testing.T, sess *xmpptest.Session, maxSize string) *fakeUploadServer {
	fu := &fakeUploadServer{stored: map[string][]byte{}, maxSize: maxSize}
	fu.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		fu.mu.Lock()
		fu.stored[r.URL.Path] = b
		fu.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(fu.http.Close)
	sess.OnIQ = fu.onIQ
	return fu
}

func element(t any) stanza.Element {
	b, _ := xml.Marshal(t)
	var el stanza.Element
	_ = xml.Unmarshal(b, &el)
	return el
}

func (fu *fakeUploadServer) onIQ(iq stanza.IQ) (*stanza.IQ, error) {
	switch p := iq.Payload.(type) {
	case disco.ItemsQuery:
		return &stanza.IQ{Type: "result", From: iq.To, Query: element(disco.ItemsQuery{
			Items: []disco.Item{{JID: "conference.example.org"}, {JID: "upload.example.org"}}})}, nil
	case disco.InfoQuery:
		if iq.To != "upload.example.org" {
			return &stanza.IQ{Type: "result", From: iq.To, Query: element(disco.InfoQuery{})}, nil
		}
		type feature struct {
			Var string `xml:"var,attr"`
		}
		type info struct {
			XMLName  xml.Name     `xml:"http://jabber.org/protocol/disco#info query"`
			Features []feature    `xml:"feature"`
			Forms    []disco.Form `xml:"jabber:x:data x"`
		}
		return &stanza.IQ{Type: "result", From: iq.To, Query: element(info{
			Features: []feature{{upload.NS}},
			Forms: []disco.Form{{Type: "result", Fields: []disco.Field{{Var: "FORM_TYPE", Values: []string{upload.NS}},
				{Var: "max-file-size", Values: []string{fu.maxSize}}}}},
		})}, nil
	case upload.Request:
		u := fu.http.URL + "/f/" + url.PathEscape(p.Filename)
		type header struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		}
		type slot struct {
			XMLName xml.Name `xml:"urn:xmpp:http:upload:0 slot"`
			Put     struct {
				URL     string   `xml:"url,attr"`
				Headers []header `xml:"header"`
			} `xml:"put"`
			Get struct {
				URL string `xml:"url,attr"`
			} `xml:"get"`
		}
		var s slot
		s.Put.URL, s.Get.URL = u, u
		s.Put.Headers = []header{{"Authorization", "Bearer t"}, {"X-Evil", "1"}}
		return &stanza.IQ{Type: "result", From: iq.To, Query: element(s)}, nil
	}
	return &stanza.IQ{Type: "result", From: iq.To}, nil
}

func writeFiles(t *testing.T, files map[string]string) map[string]string {
	dir := t.TempDir()
	paths := map[string]string{}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

func sentMessages(t *testing.T, sess *xmpptest.Session) []stanza.Message {
	t.Helper()
	var out []stanza.Message
	for _, s := range sess.Sent() {
		if strings.HasPrefix(s, "<message") {
			var m stanza.Message
			if err := unmarshal(s, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

func TestUploadSharesEachLinkInOrder(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	fu := newFakeUploadServer(t, sess, "1000")
	f.HTTPClient = fu.http.Client
	p := writeFiles(t, map[string]string{"one.txt": "first file", "two <&>.txt": "second file", "three.bin": ""})
	code := Run(context.Background(), f, []string{"upload", "--to", "bob@example.org", "--caption", "files <&>",
		p["one.txt"], p["two <&>.txt"], p["three.bin"]})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, f.IO.ErrOut)
	}
	urls := strings.Fields(f.IO.Out.(interface{ String() string }).String())
	if len(urls) != 3 || !strings.HasSuffix(urls[0], "/one.txt") || !strings.HasSuffix(urls[1], "/two%20%3C&%3E.txt") {
		t.Fatalf("stdout URLs %q", urls)
	}
	if string(fu.stored["/f/two <&>.txt"]) != "second file" {
		t.Errorf("stored %q", fu.stored)
	}
	msgs := sentMessages(t, sess)
	if len(msgs) != 4 || msgs[0].Body != "files <&>" {
		t.Fatalf("messages %+v", msgs)
	}
	for i, m := range msgs[1:] {
		var oob struct {
			URL string `xml:"jabber:x:oob x>url"`
		}
		raw, _ := xml.Marshal(m)
		if err := xml.Unmarshal(raw, &oob); err != nil {
			t.Fatal(err)
		}
		if m.To != "bob@example.org" || m.Type != stanza.ChatMessage || m.Body != urls[i] || oob.URL != urls[i] {
			t.Errorf("message %d: to %s type %s body %q oob %q, want %q", i, m.To, m.Type, m.Body, oob.URL, urls[i])
		}
	}
	if strings.Contains(sess.Sent()[0]+strings.Join(sess.Sent(), ""), "X-Evil") {
		t.Error("slot header leaked")
	}
}

func TestUploadPartialAndJSON(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	fu := newFakeUploadServer(t, sess, "20")
	f.HTTPClient = fu.http.Client
	f.Global.JSON = true
	p := writeFiles(t, map[string]string{"small.txt": "small", "large.txt": strings.Repeat("L", 21)})
	code := Run(context.Background(), f, []string{"--json", "upload", "--to", "bob@example.org", p["small.txt"], p["large.txt"]})
	stderr := f.IO.ErrOut.(interface{ String() string }).String()
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d: %s", code, ExitPartial, stderr)
	}
	if !strings.Contains(stderr, "21 bytes") || !strings.Contains(stderr, "at most 20 bytes") {
		t.Errorf("stderr %q does not name both sizes", stderr)
	}
	lines := strings.Split(strings.TrimSpace(f.IO.Out.(interface{ String() string }).String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout %q", lines)
	}
	var ok map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ok); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "url", "size", "content_type", "sha256"} {
		if _, has := ok[k]; !has {
			t.Errorf("JSON lacks %q: %s", k, lines[0])
		}
	}
	if ok["sha256"] != sha256Hex("small") {
		t.Errorf("sha256 %v", ok["sha256"])
	}
	if !strings.Contains(lines[1], `"error"`) {
		t.Errorf("failed file line %s", lines[1])
	}
	if msgs := sentMessages(t, sess); len(msgs) != 1 {
		t.Errorf("%d messages, want 1 (only the uploaded file)", len(msgs))
	}
	if len(fu.stored) != 1 {
		t.Errorf("stored %d files", len(fu.stored))
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestUploadSingleFileTooLargeIsRemote(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	fu := newFakeUploadServer(t, sess, "3")
	f.HTTPClient = fu.http.Client
	p := writeFiles(t, map[string]string{"f": "four"})
	if code := Run(context.Background(), f, []string{"upload", p["f"]}); code != ExitRemote {
		t.Fatalf("exit %d, want %d: %s", code, ExitRemote, f.IO.ErrOut)
	}
}

func TestUploadProgressOnlyOnTerminal(t *testing.T) {
	for _, tt := range []struct {
		name       string
		tty, quiet bool
		wantBars   bool
	}{
		{"pipe", false, false, false},
		{"terminal", true, false, true},
		{"terminal, --quiet", true, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, _, sess := testFactory(t, nil)
			fu := newFakeUploadServer(t, sess, "100000")
			f.HTTPClient = fu.http.Client
			f.IO.ErrTTY = tt.tty
			p := writeFiles(t, map[string]string{"a.txt": strings.Repeat("a", 5000), "b.txt": "b"})
			args := []string{"upload", p["a.txt"], p["b.txt"]}
			if tt.quiet {
				args = append([]string{"--quiet"}, args...)
			}
			if code := Run(context.Background(), f, args); code != 0 {
				t.Fatalf("exit %d: %s", code, f.IO.ErrOut)
			}
			stderr := f.IO.ErrOut.(interface{ String() string }).String()
			if got := strings.Contains(stderr, "a.txt") && strings.Contains(stderr, "done: 4.9 KiB"); got != tt.wantBars {
				t.Errorf("bars shown %v, want %v; stderr %q", got, tt.wantBars, stderr)
			}
			if !tt.wantBars && stderr != "" {
				t.Errorf("stderr %q, want nothing", stderr)
			}
			if out := f.IO.Out.(interface{ String() string }).String(); strings.Count(out, "\n") != 2 || strings.Contains(out, "\x1b") {
				t.Errorf("stdout %q: want two URLs and nothing else", out)
			}
		})
	}
}

func TestBarStackKeepsFinishedLinesAbove(t *testing.T) {
	var buf strings.Builder
	st := newBarStack(&buf)
	a := st.Add("first.bin", 1000)
	b := st.Add("second.bin", 1000)
	a.Set(500)
	b.Set(1000)
	b.Done("done")
	st.Println("a message")
	a.Set(0) // a retry starts over
	a.Set(1000)
	a.Done("done")
	out := buf.String()
	for _, want := range []string{"second.bin                   done\n", "a message\n", "first.bin                    done\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	if st.drawn != 0 || len(st.active) != 0 {
		t.Errorf("%d lines drawn, %d active after all finished", st.drawn, len(st.active))
	}
}

// Issue 14 defect 1 through the command: a redirected PUT is exit 5 naming
// the status, with no URL printed and nothing shared.
func TestUploadRedirectedPutIsRemoteAndNotShared(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	fu := newFakeUploadServer(t, sess, "1000")
	gets := 0
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			gets++
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, "/stored-elsewhere", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	fu.http.Config.Handler = redirect.Config.Handler
	f.HTTPClient = fu.http.Client
	p := writeFiles(t, map[string]string{"f.txt": "data"})
	code := Run(context.Background(), f, []string{"upload", "--to", "bob@example.org", p["f.txt"]})
	stderr := f.IO.ErrOut.(interface{ String() string }).String()
	if code != ExitRemote || !strings.Contains(stderr, "302") {
		t.Fatalf("exit %d, want %d naming 302: %s", code, ExitRemote, stderr)
	}
	if out := f.IO.Out.(interface{ String() string }).String(); out != "" {
		t.Errorf("stdout %q: a URL was printed for a file never stored", out)
	}
	if msgs := sentMessages(t, sess); len(msgs) != 0 {
		t.Errorf("%d messages shared", len(msgs))
	}
	if gets != 0 {
		t.Errorf("the redirect was followed (%d GETs)", gets)
	}
}

// Issue 14 defect 7: an error reply to service discovery is the server's
// refusal (exit 5), not a timeout.
func TestUploadDiscoErrorIsRemoteNotTimeout(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	sess.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		e := &stanza.Error{Type: "cancel", Condition: "service-unavailable"}
		return &stanza.IQ{Type: "error", From: iq.To, Error: e}, e
	}
	p := writeFiles(t, map[string]string{"f.txt": "data"})
	code := Run(context.Background(), f, []string{"upload", p["f.txt"]})
	stderr := f.IO.ErrOut.(interface{ String() string }).String()
	if code != ExitRemote || !strings.Contains(stderr, "service-unavailable") || strings.Contains(stderr, "no answer") {
		t.Fatalf("exit %d, want %d with the condition: %s", code, ExitRemote, stderr)
	}
}
