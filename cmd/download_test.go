package cmd

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/aesgcm"
)

// fileServer serves body at every path, as an upload service would.
func fileServer(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func encryptedLink(t *testing.T, srv *httptest.Server, path string, plain []byte) (string, []byte) {
	t.Helper()
	s, err := aesgcm.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := aes.NewCipher(s.Key)
	g, _ := cipher.NewGCM(b)
	link, err := s.URL(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return link, g.Seal(nil, s.IV, plain, nil)
}

func stdout(f *Factory) string { return f.IO.Out.(interface{ String() string }).String() }
func stderr(f *Factory) string { return f.IO.ErrOut.(interface{ String() string }).String() }

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadEncryptedNeverClobbers(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	plain := []byte(strings.Repeat("picture data ", 3000))
	var srv *httptest.Server
	var body []byte
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	srv = httptest.NewTLSServer(handler)
	defer srv.Close()
	link, ct := encryptedLink(t, srv, "/share/x/photo%20one.jpg", plain)
	body = ct
	for i, want := range []string{"photo one.jpg", "photo one (1).jpg"} {
		f, _, _ := testFactory(t, nil)
		f.HTTPClient = srv.Client
		if code := Run(context.Background(), f, []string{"download", link}); code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr(f))
		}
		if got := strings.TrimSpace(stdout(f)); got != want {
			t.Fatalf("run %d: printed %q, want %q", i, got, want)
		}
		got, err := os.ReadFile(filepath.Join(dir, want))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("run %d: saved file differs: %v", i, err)
		}
		if strings.Contains(stderr(f)+stdout(f), link[strings.Index(link, "#")+1:]) {
			t.Fatal("the key was printed")
		}
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Fatalf("directory holds %q", names)
	}
}

func TestDownloadHostileNames(t *testing.T) {
	for path, want := range map[string]string{
		"/x/..%2F..%2Fescape.txt": "_.._escape.txt",
		"/x/.bashrc":              "bashrc",
		"/x/evil%0a%1b[31m.txt":   "evil__[31m.txt",
		"/":                       "download",
		"/x/..":                   "file",
	} {
		t.Run(path, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			srv := fileServer(t, []byte("content"))
			f, _, _ := testFactory(t, nil)
			f.HTTPClient = srv.Client
			if code := Run(context.Background(), f, []string{"download", srv.URL + path}); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr(f))
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] != want {
				t.Fatalf("saved as %q, want %q", names, want)
			}
		})
	}
}

// TestDownloadFailuresLeaveNothing: each failure has its exit status, a
// one-line error, a JSON outcome with --json, and no file, temporary or
// final, in the directory.
func TestDownloadFailuresLeaveNothing(t *testing.T) {
	plain := []byte(strings.Repeat("z", 10000))
	tests := []struct {
		name    string
		handler func(ct []byte) http.HandlerFunc
		args    []string
		code    int
	}{
		{"wrong tag", func(ct []byte) http.HandlerFunc {
			bad := bytes.Clone(ct)
			bad[len(bad)-1] ^= 1
			return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(bad) }
		}, nil, ExitRemote},
		{"truncated", func(ct []byte) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(ct)+100))
				_, _ = w.Write(ct)
			}
		}, nil, ExitConnect},
		{"not found", func([]byte) http.HandlerFunc { return http.NotFound }, nil, ExitRemote},
		{"too large", func(ct []byte) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(ct) }
		}, []string{"--max-size", "9999"}, ExitRemote},
		{"redirect to http", func([]byte) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://127.0.0.1:1/x", http.StatusFound)
			}
		}, nil, ExitRemote},
		{"stalled", func(ct []byte) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(ct)))
				_, _ = w.Write(ct[:10])
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}
		}, []string{"--timeout", "200ms"}, ExitTimeout},
	}
	for _, tt := range tests {
		for _, asJSON := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{true: " json"}[asJSON], func(t *testing.T) {
				dir := t.TempDir()
				t.Chdir(dir)
				var handler http.HandlerFunc
				srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler(w, r) }))
				defer srv.Close()
				link, ct := encryptedLink(t, srv, "/f/file.bin", plain)
				handler = tt.handler(ct)
				f, _, _ := testFactory(t, nil)
				f.HTTPClient = srv.Client
				args := append([]string{"download"}, tt.args...)
				if asJSON {
					args = append([]string{"--json"}, args...)
				}
				code := Run(context.Background(), f, append(args, link))
				if code != tt.code {
					t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr(f))
				}
				if lines := strings.Split(strings.TrimSpace(stderr(f)), "\n"); !strings.HasPrefix(lines[0], "xmppctl: ") || len(lines) > 2 {
					t.Errorf("stderr %q", stderr(f))
				}
				if names := dirNames(t, dir); len(names) != 0 {
					t.Errorf("left behind %q", names)
				}
				out := stdout(f)
				if strings.Contains(out+stderr(f), link[strings.Index(link, "#")+1:]) {
					t.Error("the key was printed")
				}
				if !asJSON {
					if out != "" {
						t.Errorf("stdout %q", out)
					}
					return
				}
				var res downloadJSON
				if err := json.Unmarshal([]byte(out), &res); err != nil || res.Error == "" || !res.Encrypted ||
					res.URL != srv.URL+"/f/file.bin" {
					t.Errorf("JSON %q (%v)", out, err)
				}
			})
		}
	}
}

func TestDownloadOutput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	plain := []byte("to standard output")
	var body []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	link, ct := encryptedLink(t, srv, "/f/a.txt", plain)
	body = ct

	f, _, _ := testFactory(t, nil)
	f.HTTPClient = srv.Client
	if code := Run(context.Background(), f, []string{"download", "-o", "-", link}); code != 0 || stdout(f) != string(plain) {
		t.Fatalf("-o -: exit %d, stdout %q, stderr %s", code, stdout(f), stderr(f))
	}

	f, _, _ = testFactory(t, nil)
	f.HTTPClient = srv.Client
	f.Global.JSON = true
	if code := Run(context.Background(), f, []string{"--json", "download", "-o", "sub.txt", link}); code != 0 {
		t.Fatalf("-o FILE: exit %d: %s", code, stderr(f))
	}
	var res downloadJSON
	if err := json.Unmarshal([]byte(stdout(f)), &res); err != nil || res.Path != "sub.txt" || res.Size != int64(len(plain)) || !res.Encrypted {
		t.Fatalf("JSON %q: %v", stdout(f), err)
	}
	if st, err := os.Stat("sub.txt"); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("saved file: %v %v", st, err)
	}
	// An existing -o FILE is refused before anything is fetched.
	wantUsageError(t, []string{"download", "-o", filepath.Join(dir, "sub.txt"), link}, "already exists")
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %q", names)
	}
}

func TestDownloadRejectsBadInput(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"http://example.org/f", "plain-http"},
		{"ftp://example.org/f", "unsupported scheme"},
		{"aesgcm://example.org/f#abc", "fragment"},
		{"not a url", "no host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantUsageError(t, []string{"download", tt.name}, tt.want)
		})
	}
	wantUsageError(t, []string{"download"}, "exactly one URL")
	wantUsageError(t, []string{"download", "--max-size", "-1", "https://h/f"}, "--max-size")
}

func TestDownloadProgressOnlyOnTerminal(t *testing.T) {
	for _, tty := range []bool{false, true} {
		dir := t.TempDir()
		t.Chdir(dir)
		srv := fileServer(t, bytes.Repeat([]byte("p"), 100000))
		f, _, _ := testFactory(t, nil)
		f.HTTPClient = srv.Client
		f.IO.ErrTTY = tty
		if code := Run(context.Background(), f, []string{"download", srv.URL + "/p.bin"}); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr(f))
		}
		if got := strings.Contains(stderr(f), "saved"); got != tty {
			t.Errorf("tty %v: stderr %q", tty, stderr(f))
		}
	}
}
