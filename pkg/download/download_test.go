package download

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/aesgcm"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stall"
)

func sealed(t *testing.T, s *aesgcm.Secret, plain []byte) []byte {
	t.Helper()
	b, _ := aes.NewCipher(s.Key)
	g, err := cipher.NewGCMWithNonceSize(b, len(s.IV))
	if err != nil {
		t.Fatal(err)
	}
	return g.Seal(nil, s.IV, plain, nil)
}

func secret(ivLen int) *aesgcm.Secret {
	s := &aesgcm.Secret{Key: bytes.Repeat([]byte{3}, aesgcm.KeySize), IV: bytes.Repeat([]byte{5}, ivLen)}
	return s
}

func aesgcmURL(t *testing.T, httpsURL string, s *aesgcm.Secret) string {
	t.Helper()
	u, err := s.URL(httpsURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// serve answers every GET with body and the given Content-Length ("" =
// the true one, "-" = none: chunked).
func serve(body []byte, contentLength string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		switch contentLength {
		case "":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		case "-":
		default:
			w.Header().Set("Content-Length", contentLength)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

func get(t *testing.T, c *http.Client, raw string, o Options) ([]byte, *Result, error) {
	t.Helper()
	target, err := Parse(raw, false)
	if err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	o.HTTP = c
	var out bytes.Buffer
	res, err := Get(context.Background(), target, &out, o)
	return out.Bytes(), res, err
}

func TestGetHappy(t *testing.T) {
	plain := bytes.Repeat([]byte("0123456789abcdef!"), 10000)
	for _, tt := range []struct {
		name  string
		ivLen int // 0: plain https
		body  []byte
		cl    string
	}{
		{"https", 0, plain, ""},
		{"https chunked", 0, plain, "-"},
		{"https empty", 0, nil, ""},
		{"aesgcm", aesgcm.IVSize, plain, ""},
		{"aesgcm chunked", aesgcm.IVSize, plain, "-"},
		{"aesgcm legacy iv", aesgcm.LegacyIVSize, plain, ""},
		{"aesgcm empty", aesgcm.IVSize, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			var s *aesgcm.Secret
			if tt.ivLen > 0 {
				s = secret(tt.ivLen)
				body = sealed(t, s, tt.body)
			}
			srv := httptest.NewTLSServer(serve(body, tt.cl))
			defer srv.Close()
			raw := srv.URL + "/share/x/file.bin"
			if s != nil {
				raw = aesgcmURL(t, raw, s)
			}
			var last int64
			got, res, err := get(t, srv.Client(), raw, Options{MaxSize: int64(len(plain)), Progress: func(d, _ int64) { last = d }})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.body) || res.Size != int64(len(tt.body)) || res.Encrypted != (s != nil) {
				t.Fatalf("got %d bytes (result %+v), want %d", len(got), res, len(tt.body))
			}
			if last != int64(len(body)) && len(body) > 0 {
				t.Errorf("progress ended at %d of %d", last, len(body))
			}
		})
	}
}

// TestGetHostile: every lie of a server ends in an error of the right
// kind, and for encrypted files nothing but authenticated plaintext
// counts as success.
func TestGetHostile(t *testing.T) {
	s := secret(aesgcm.IVSize)
	plain := bytes.Repeat([]byte("x"), 5000)
	ct := sealed(t, s, plain)
	tampered := bytes.Clone(ct)
	tampered[100] ^= 1
	plainSrv := httptest.NewServer(serve(plain, ""))
	defer plainSrv.Close()

	type check func(t *testing.T, err error)
	isA := func(target any) check {
		return func(t *testing.T, err error) {
			if !errors.As(err, target) {
				t.Fatalf("error %v (%T), want %T", err, err, target)
			}
		}
	}
	is := func(target error) check {
		return func(t *testing.T, err error) {
			if !errors.Is(err, target) {
				t.Fatalf("error %v, want %v", err, target)
			}
		}
	}
	var (
		httpErr  *HTTPError
		tooLarge *TooLargeError
		redirect *RedirectError
		connErr  *conn.ConnectError
	)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		encrypt bool
		max     int64
		want    check
	}{
		{"wrong tag", serve(tampered, ""), true, 0, is(aesgcm.ErrAuth)},
		{"content-length shorter than the body", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(ct)-10))
			_, _ = w.Write(ct[:len(ct)-10])
			_, _ = w.Write(ct[len(ct)-10:]) // refused by net/http: the client sees the first part only
		}, true, 0, is(aesgcm.ErrAuth)},
		{"content-length longer than the body", serve(ct, strconv.Itoa(len(ct)+10)), true, 0, isA(&connErr)},
		{"truncated chunked body", truncating(ct[:len(ct)/2]), true, 0, isA(&connErr)},
		{"truncated, plain", truncating(plain[:100]), false, 0, isA(&connErr)},
		{"cut tag", serve(ct[:len(ct)-1], "-"), true, 0, is(aesgcm.ErrAuth)},
		{"shorter than a tag", serve(ct[:5], ""), true, 0, is(aesgcm.ErrAuth)},
		{"not found", http.NotFound, false, 0, isA(&httpErr)},
		{"partial content", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusPartialContent) }, false, 0, isA(&httpErr)},
		{"redirect to http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plainSrv.URL+"/f", http.StatusFound)
		}, false, 0, isA(&redirect)},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		}, false, 0, isA(&redirect)},
		{"content-length over max", serve(plain, ""), false, 4999, isA(&tooLarge)},
		{"huge chunked body", serve(bytes.Repeat([]byte("h"), 1<<20), "-"), false, 1000, isA(&tooLarge)},
		{"huge chunked encrypted", serve(sealed(t, s, bytes.Repeat([]byte("h"), 1<<20)), "-"), true, 1000, isA(&tooLarge)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tt.handler)
			defer srv.Close()
			raw := srv.URL + "/f.bin"
			if tt.encrypt {
				raw = aesgcmURL(t, raw, s)
			}
			_, _, err := get(t, srv.Client(), raw, Options{MaxSize: tt.max})
			if err == nil {
				t.Fatal("succeeded")
			}
			tt.want(t, err)
			if strings.Contains(err.Error(), "0303030303") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error leaks the key or is not one line: %q", err)
			}
		})
	}
}

// truncating sends a chunked start and then drops the connection.
func truncating(part []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(part)
		w.(http.Flusher).Flush()
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}
}

func TestGetExactlyAtMax(t *testing.T) {
	body := bytes.Repeat([]byte("m"), 1000)
	srv := httptest.NewTLSServer(serve(body, "-"))
	defer srv.Close()
	if _, _, err := get(t, srv.Client(), srv.URL+"/f", Options{MaxSize: 1000}); err != nil {
		t.Fatalf("a file of exactly --max-size: %v", err)
	}
}

// A server that sends the headers and a few bytes and then nothing ends
// with a stall, which is a timeout.
func TestGetStall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("abc"))
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	_, _, err := get(t, srv.Client(), srv.URL+"/f", Options{Idle: 50 * time.Millisecond})
	var se *stall.Error
	if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a stall", err)
	}
}

func TestParse(t *testing.T) {
	key := strings.Repeat("ab", 44)
	tests := []struct {
		in, want  string
		allowHTTP bool
		encrypted bool
	}{
		{"https://h.example/a/b.txt#frag", "https://h.example/a/b.txt", false, false},
		{"http://127.0.0.1:5280/f", "http://127.0.0.1:5280/f", false, false},
		{"http://[::1]/f", "http://[::1]/f", false, false},
		{"http://localhost/f", "http://localhost/f", false, false},
		{"http://h.example/f", "", false, false},
		{"http://h.example/f", "http://h.example/f", true, false},
		{"aesgcm://h.example/f.jpg#" + key, "https://h.example/f.jpg", false, true},
		{"AesGcm://127.0.0.1/f.jpg#" + key, "https://127.0.0.1/f.jpg", false, true},
		{"ftp://h.example/f", "", true, false},
		{"file:///etc/passwd", "", true, false},
		{"https://u:p@h.example/f", "", false, false},
		{"https:///f", "", false, false},
		{"aesgcm://h.example/f.jpg", "", false, false},
		{"/relative", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, tt.allowHTTP)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("accepted as %s", got.URL)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tt.want || (got.Secret != nil) != tt.encrypted {
				t.Fatalf("got %s (encrypted %v)", got.URL, got.Secret != nil)
			}
		})
	}
}

func TestTargetName(t *testing.T) {
	for in, want := range map[string]string{
		"https://h/share/x/report%20final.pdf": "report final.pdf",
		"https://h/":                           "",
		"https://h":                            "",
		"https://h/a/..%2F..%2Fetc%2Fpasswd":   "../../etc/passwd",
		"https://h/a/b/":                       "",
		"https://h/a/.bashrc":                  ".bashrc",
	} {
		tg, err := Parse(in, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := tg.Name(); got != want {
			t.Errorf("Name(%s) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: any string is refused or becomes an https (or loopback
// http) URL with a host, never keeping a fragment.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://h/f", "http://127.0.0.1/f", "aesgcm://h/f#" + strings.Repeat("0", 88),
		"http://evil/f", "https://h/%2e%2e/x#y", "aesgcm://h/f#" + strings.Repeat("0", 96), "HTTPS://H/F?q=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := Parse(raw, false)
		if err != nil {
			return
		}
		lower := strings.ToLower(tg.URL)
		if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
			t.Fatalf("Parse(%q) = %q", raw, tg.URL)
		}
		if strings.Contains(tg.URL, "#") {
			t.Fatalf("Parse(%q) kept a fragment: %q", raw, tg.URL)
		}
		_ = tg.Name()
		_ = fmt.Sprint(tg.URL)
	})
}
