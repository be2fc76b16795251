package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

type uploadLine struct {
	File        string `json:"file"`
	URL         string `json:"url"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Error       string `json:"error"`
}

func parseUploadJSON(t *testing.T, stdout string) []uploadLine {
	t.Helper()
	var out []uploadLine
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var u uploadLine
		if err := json.Unmarshal([]byte(l), &u); err != nil {
			t.Fatalf("stdout line %q: %v", l, err)
		}
		out = append(out, u)
	}
	return out
}

// fetchSHA256 downloads url (loopback only) and returns its digest and size.
func fetchSHA256(t *testing.T, raw string) (string, int64) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("GET url %q is not on loopback", raw)
	}
	resp, err := http.Get(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", raw, resp.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeRandom writes size pseudo-random bytes (incompressible, seeded).
func writeRandom(t *testing.T, p string, size int64) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.NewChaCha8([32]byte{4})
	if _, err := io.CopyN(f, r, size); err != nil {
		t.Fatal(err)
	}
}

// oobURL returns the jabber:x:oob URL of a received message.
func oobURL(t *testing.T, m *stanza.Message) string {
	t.Helper()
	el, ok := stanza.Find(m.Ext, stanza.NSOOB, "x")
	if !ok {
		t.Fatalf("no jabber:x:oob in message %+v", m)
	}
	var x struct {
		URL  string `xml:"url"`
		Desc string `xml:"desc"`
	}
	if err := el.Decode(&x); err != nil {
		t.Fatal(err)
	}
	if x.Desc != "" {
		t.Errorf("oob desc %q, want none", x.Desc)
	}
	return x.URL
}

// checkShared asserts that m shares exactly url, as body and oob url.
func checkShared(t *testing.T, m *stanza.Message, url string) {
	t.Helper()
	if m.Body != url {
		t.Errorf("body %q, want the URL %q", m.Body, url)
	}
	if got := oobURL(t, m); got != url {
		t.Errorf("oob url %q, want %q", got, url)
	}
}

func TestUploadFilesShareAndVerify(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	dir := t.TempDir()
	names := []string{`a b "q" <&> 'é' ]]>.txt`, "empty.bin", "日本語 ファイル.png"}
	contents := []string{"hello <&> upload\n", "", "\x89PNG\r\n\x1a\nnot really a png"}
	if srv != nil && srv.Kind == testserver.Ejabberd {
		// No slot for 0 bytes there: TestUploadEmptyFileRefused.
		names = slices.Delete(names, 1, 2)
		contents = slices.Delete(contents, 1, 2)
	}
	var paths []string
	for i, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(contents[i]), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	res := xmppctl(t, alice, "", append([]string{"upload", "--json", "--to", srv.JID(bob)}, paths...)...)
	mustOK(t, res)
	got := parseUploadJSON(t, res.Stdout)
	if len(got) != len(names) {
		t.Fatalf("%d results, want %d:\n%s", len(got), len(names), res.Stdout)
	}
	for i, u := range got {
		if u.File != paths[i] || u.Size != int64(len(contents[i])) {
			t.Errorf("result %d: %+v", i, u)
		}
		h := sha256.Sum256([]byte(contents[i]))
		if u.SHA256 != hex.EncodeToString(h[:]) {
			t.Errorf("%s: reported sha256 %s", names[i], u.SHA256)
		}
		// The server stored exactly the bytes.
		if sum, n := fetchSHA256(t, u.URL); sum != u.SHA256 || n != u.Size {
			t.Errorf("%s: GET gave %d bytes, sha256 %s", names[i], n, sum)
		}
		// The name arrives intact in the URL (as intact as the server
		// keeps it: ejabberd replaces ASCII punctuation and spaces).
		pu, _ := url.Parse(u.URL)
		if base := path.Base(pu.Path); base != srv.UploadName(names[i]) {
			t.Errorf("URL names the file %q, want %q", base, srv.UploadName(names[i]))
		}
	}
	if got[0].ContentType != "text/plain; charset=utf-8" || got[len(got)-1].ContentType != "image/png" {
		t.Errorf("content types %q, %q", got[0].ContentType, got[len(got)-1].ContentType)
	}
	// Bob gets one message per file, in order: body == URL == oob url.
	for i := range names {
		m := rb.message(t, 10*time.Second, fromUser(alice))
		checkShared(t, m, got[i].URL)
		if m.Type != stanza.ChatMessage {
			t.Errorf("type %q", m.Type)
		}
	}
	if extra := rb.messages(500*time.Millisecond, fromUser(alice)); len(extra) != 0 {
		t.Errorf("%d extra messages", len(extra))
	}
}

// TestUploadEmptyFileRefused: ejabberd has no slot for an empty file; the
// refusal is reported with the server's condition and nothing is shared.
func TestUploadEmptyFileRefused(t *testing.T) {
	testserver.Only(t, srv, testserver.Ejabberd, "Prosody hands out slots for 0 bytes (TestUploadFilesShareAndVerify uploads one)")
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	p := filepath.Join(t.TempDir(), "empty.bin")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := xmppctl(t, alice, "", "upload", "--to", srv.JID(bob), p)
	wantExit(t, res, 5, "bad-request")
	if res.Stdout != "" {
		t.Errorf("stdout %q, want nothing", res.Stdout)
	}
	if got := rb.messages(500*time.Millisecond, fromUser(alice)); len(got) != 0 {
		t.Errorf("%d messages shared", len(got))
	}
}

func TestUploadStdinAndPlainOutput(t *testing.T) {
	alice := srv.NewUser(t, "alice")
	res := xmppctl(t, alice, "line one\nline two\n", "upload", "-", "--name", "from stdin.log")
	mustOK(t, res)
	u := strings.TrimSpace(res.Stdout)
	if strings.Contains(u, "\n") || !strings.HasSuffix(u, "/"+url.PathEscape(srv.UploadName("from stdin.log"))) {
		t.Fatalf("stdout %q, want one URL", res.Stdout)
	}
	h := sha256.Sum256([]byte("line one\nline two\n"))
	if sum, _ := fetchSHA256(t, u); sum != hex.EncodeToString(h[:]) {
		t.Errorf("stored content differs")
	}
	if res.Stderr != "" {
		t.Errorf("stderr %q, want nothing (not a terminal)", res.Stderr)
	}
	// --size streams standard input without a spool file.
	res = xmppctl(t, alice, "0123456789", "upload", "-", "--name", "n.txt", "--size", "10")
	mustOK(t, res)
	if sum, n := fetchSHA256(t, strings.TrimSpace(res.Stdout)); n != 10 || sum != sha256hex("0123456789") {
		t.Errorf("streamed stdin: %d bytes, %s", n, sum)
	}
	wantExit(t, xmppctl(t, alice, "short", "upload", "-", "--name", "n.txt", "--size", "10"), 2, "ended after 5 of the 10 bytes")
}

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestUploadInputErrors(t *testing.T) {
	testserver.Require(t, srv)
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "secret")
	if err := os.WriteFile(unreadable, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"missing", "", []string{filepath.Join(dir, "nope.txt")}, "no such file"},
		{"directory", "", []string{dir}, "is a directory"},
		{"stdin without name", "x", []string{"-"}, "--name"},
		{"caption without recipient", "", []string{"--caption", "hi", unreadable}, ""},
		{"bad room", "", []string{"--muc", "room@conference.localhost/nick", unreadable}, "invalid room"},
		{"name with slash", "x", []string{"-", "--name", "a/b"}, "invalid file name"},
		{"no file", "", nil, "at least one FILE"},
	}
	if os.Geteuid() != 0 { // root reads anything
		tests = append(tests, struct {
			name  string
			stdin string
			args  []string
			want  string
		}{"unreadable", "", []string{unreadable}, "permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A bogus account: exit 2 proves nothing was dialled.
			res := testserver.Run(t, tt.stdin, []string{"XMPPCTL_JID=nobody@localhost", "XMPPCTL_PASSWORD=x"},
				append([]string{"--server", silentListener(t), "--timeout", "2s", "upload"}, tt.args...)...)
			wantExit(t, res, 2, tt.want)
		})
	}
}

func TestUploadMUCWithCaption(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	room := "files-" + bob + "@" + srv.MUCHost
	createRoom(t, rb, room, "bob")
	p := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(p, []byte("meeting notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := xmppctl(t, alice, "", "upload", "--muc", room, "--nick", "uploader", "--caption", "today's notes <&>", p)
	mustOK(t, res)
	link := strings.TrimSpace(res.Stdout)
	fromRoom := func(m *stanza.Message) bool { return m.From == room+"/uploader" && m.Body != "" }
	caption := rb.message(t, 10*time.Second, fromRoom)
	if caption.Body != "today's notes <&>" || caption.Type != stanza.GroupChatMessage {
		t.Errorf("caption %q type %q", caption.Body, caption.Type)
	}
	if _, ok := stanza.Find(caption.Ext, stanza.NSOOB, "x"); ok {
		t.Error("caption carries an oob url")
	}
	m := rb.message(t, 10*time.Second, fromRoom)
	checkShared(t, m, link)
	if sum, _ := fetchSHA256(t, link); sum != sha256hex("meeting notes") {
		t.Error("stored content differs")
	}
}

// TestUploadLarge uploads 50 MiB (about 13 s: Prosody ingests ~4 MB/s)
// and checks the stored bytes.
func TestUploadLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MiB upload")
	}
	alice := srv.NewUser(t, "alice")
	p := filepath.Join(t.TempDir(), "big.bin")
	writeRandom(t, p, 50<<20)
	res := xmppctl(t, alice, "", "upload", "--json", p)
	mustOK(t, res)
	u := parseUploadJSON(t, res.Stdout)[0]
	want := fileSHA256(t, p)
	if u.SHA256 != want || u.Size != 50<<20 {
		t.Errorf("reported %+v, want sha256 %s", u, want)
	}
	if sum, n := fetchSHA256(t, u.URL); sum != want || n != 50<<20 {
		t.Errorf("GET: %d bytes, sha256 %s", n, sum)
	}
}

// dropProxy forwards TCP to the upload service's HTTP port; while drop > 0
// (or always with drop < 0) it cuts each PUT after `after` bytes.
type dropProxy struct {
	ln     net.Listener
	target atomic.Value // "host:port"
	drop   atomic.Int32
	after  int64
	puts   atomic.Int32
	wg     sync.WaitGroup
}

func newDropProxy(t *testing.T) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, after: 200 << 10}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *dropProxy) port() string { return strings.TrimPrefix(p.ln.Addr().String(), "127.0.0.1:") }

func (p *dropProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *dropProxy) handle(c net.Conn) {
	defer c.Close()
	target, _ := p.target.Load().(string)
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	br := bufio.NewReader(c)
	head, _ := br.Peek(4)
	var src io.Reader = br
	if string(head) == "PUT " {
		p.puts.Add(1)
		if d := p.drop.Load(); d != 0 {
			if d > 0 {
				p.drop.Add(-1)
			}
			_, _ = io.CopyN(up, br, p.after) // part of the body, then cut
			return
		}
	}
	go func() { _, _ = io.Copy(c, up); c.Close() }()
	_, _ = io.Copy(up, src)
}

// TestUploadLimitAndBrokenTransfers runs its own server with a 1 MiB
// limit whose slot URLs point at a proxy that can cut PUTs.
func TestUploadLimitAndBrokenTransfers(t *testing.T) {
	testserver.Require(t, srv)
	px := newDropProxy(t)
	s2, err := testserver.Start("XMPP_UPLOAD_LIMIT_MB=1", "XMPP_UPLOAD_URL_PORT="+px.port())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Stop)
	px.target.Store(s2.Host + ":" + s2.HTTPPort)
	run := func(t *testing.T, user string, args ...string) testserver.Result {
		return testserver.Run(t, "", s2.AccountEnv(user), append(s2.Flags(), args...)...)
	}
	dir := t.TempDir()
	small := filepath.Join(dir, "small.bin")
	writeRandom(t, small, 600<<10)
	big := filepath.Join(dir, "big.bin")
	writeRandom(t, big, 2<<20)

	t.Run("over the limit is refused before uploading", func(t *testing.T) {
		alice := s2.NewUser(t, "alice")
		before := px.puts.Load()
		res := run(t, alice, "upload", big)
		wantExit(t, res, 5, "2097152 bytes (2 MiB)")
		if !strings.Contains(res.Stderr, "1048576 bytes (1 MiB)") {
			t.Errorf("stderr does not name the limit: %s", res.Stderr)
		}
		if px.puts.Load() != before {
			t.Error("a PUT was attempted")
		}
	})

	t.Run("partial: one file over the limit, the other shared", func(t *testing.T) {
		alice, bob := s2.NewUser(t, "alice"), s2.NewUser(t, "bob")
		bs := s2.Dial(t, bob)
		sub := bs.Subscribe()
		t.Cleanup(sub.Close)
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := bs.Flush(fctx); err != nil {
			t.Fatal(err)
		}
		res := run(t, alice, "upload", "--to", s2.JID(bob), small, big)
		wantExit(t, res, 3, "file too large")
		urls := strings.Fields(res.Stdout)
		if len(urls) != 1 {
			t.Fatalf("stdout %q, want one URL", res.Stdout)
		}
		for {
			st, err := sub.Next(fctx)
			if err != nil {
				t.Fatalf("bob got no link: %v", err)
			}
			if m, ok := st.(*stanza.Message); ok && m.Body != "" {
				checkShared(t, m, urls[0])
				break
			}
		}
	})

	t.Run("a cut PUT is retried on a fresh slot", func(t *testing.T) {
		alice := s2.NewUser(t, "alice")
		px.drop.Store(1)
		before := px.puts.Load()
		res := run(t, alice, "upload", "--json", small)
		mustOK(t, res)
		if n := px.puts.Load() - before; n != 2 {
			t.Errorf("%d PUTs, want 2", n)
		}
		if !strings.Contains(res.Stderr, "retrying on a fresh slot") {
			t.Errorf("stderr does not tell about the retry: %s", res.Stderr)
		}
		u := parseUploadJSON(t, res.Stdout)[0]
		if sum, _ := fetchSHA256(t, u.URL); sum != fileSHA256(t, small) || u.SHA256 != sum {
			t.Errorf("stored content differs")
		}
	})

	t.Run("always cut: retries then a connection error", func(t *testing.T) {
		alice := s2.NewUser(t, "alice")
		px.drop.Store(-1)
		defer px.drop.Store(0)
		before := px.puts.Load()
		res := run(t, alice, "-q", "upload", "--retries", "1", small)
		wantExit(t, res, 6, "after 2 attempts")
		if n := px.puts.Load() - before; n != 2 {
			t.Errorf("%d PUTs, want 2", n)
		}
		if res.Stdout != "" {
			t.Errorf("stdout %q", res.Stdout)
		}
	})
}

// TestUploadHTTPS uses a server whose slots are https URLs signed by the
// test CA: the account's ca_file (--ca-file) is trusted for the upload too.
func TestUploadHTTPS(t *testing.T) {
	testserver.Require(t, srv)
	s3, err := testserver.Start("XMPP_UPLOAD_SCHEME=https")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s3.Stop)
	alice := s3.NewUser(t, "alice")
	p := filepath.Join(t.TempDir(), "secure.txt")
	if err := os.WriteFile(p, []byte("over tls"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := testserver.Run(t, "", s3.AccountEnv(alice), append(s3.Flags(), "upload", p)...)
	mustOK(t, res)
	link := strings.TrimSpace(res.Stdout)
	if !strings.HasPrefix(link, "https://127.0.0.1:"+s3.HTTPSPort+"/") {
		t.Fatalf("URL %q is not the https one", link)
	}
	pem, err := os.ReadFile(s3.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "over tls" {
		t.Errorf("GET gave %q", b)
	}
}
