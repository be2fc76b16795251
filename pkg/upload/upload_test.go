package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// fakeService is an upload service: slots over a scripted session, PUTs
// to an httptest server whose behaviour each test chooses per attempt.
type fakeService struct {
	t    *testing.T
	srv  *httptest.Server
	sess *xmpptest.Session

	mu       sync.Mutex
	requests []Request
	puts     []*http.Request
	bodies   [][]byte
	// onPut decides the fate of the n-th PUT (0-based); nil stores it.
	onPut   func(n int, w http.ResponseWriter, r *http.Request) bool
	slotErr *stanza.Error
	putURL  string // overrides the slot's PUT URL
	headers []Header
}

func newFakeService(t *testing.T) *fakeService {
	fs := &fakeService{t: t, headers: []Header{{"Authorization", "Bearer tok"}, {"Cookie", "a=1"}}}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.srv.Close)
	fs.sess = xmpptest.New()
	fs.sess.OnIQ = fs.onIQ
	return fs
}

func (fs *fakeService) onIQ(iq stanza.IQ) (*stanza.IQ, error) {
	req, ok := iq.Payload.(Request)
	if !ok {
		fs.t.Errorf("unexpected IQ payload %T", iq.Payload)
		return nil, &stanza.Error{Condition: "bad-request"}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.requests = append(fs.requests, req)
	if fs.slotErr != nil {
		return &stanza.IQ{Type: "error", From: iq.To, Error: fs.slotErr}, fs.slotErr
	}
	n := len(fs.requests)
	put := fs.srv.URL + "/put/" + string(rune('0'+n)) + "/" + url.PathEscape(req.Filename)
	if fs.putURL != "" {
		put = fs.putURL
	}
	var x slotXML
	x.Put.URL, x.Get.URL, x.Put.Headers = put, fs.srv.URL+"/get/"+string(rune('0'+n)), fs.headers
	b, _ := xml.Marshal(x)
	var el stanza.Element
	if err := xml.Unmarshal(b, &el); err != nil {
		fs.t.Fatal(err)
	}
	return &stanza.IQ{Type: "result", From: iq.To, Query: el}, nil
}

func (fs *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	n := len(fs.puts)
	fs.puts = append(fs.puts, r)
	on := fs.onPut
	fs.mu.Unlock()
	if on != nil && on(n, w, r) {
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	fs.mu.Lock()
	fs.bodies = append(fs.bodies, b)
	fs.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func (fs *fakeService) uploader() *Uploader {
	return &Uploader{Session: fs.sess, Service: &Service{JID: "upload.example.org", MaxSize: 1 << 20},
		HTTP: fs.srv.Client(), Retries: 2, Backoff: time.Millisecond, Timeout: 10 * time.Second}
}

func bytesFile(name string, data []byte) *File {
	return &File{Name: name, Size: int64(len(data)), ContentType: "application/octet-stream",
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func TestUploadSendsSlotHeadersAndStreams(t *testing.T) {
	fs := newFakeService(t)
	fs.headers = []Header{{"Authorization", "Bearer tok"}, {"Cookie", "a=1"}, {"Cookie", "b=2"}, {"Expires", "never"}}
	data := bytes.Repeat([]byte("0123456789"), 10000)
	var last int64
	res, err := fs.uploader().Upload(context.Background(), bytesFile(`a b "q" <&>.bin`, data), func(n int64) { last = n })
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != sum(data) || res.Size != int64(len(data)) || res.Attempts != 1 || !strings.Contains(res.URL, "/get/1") {
		t.Errorf("result %+v", res)
	}
	if last != int64(len(data)) {
		t.Errorf("progress ended at %d, want %d", last, len(data))
	}
	if len(fs.requests) != 1 || fs.requests[0].Filename != `a b "q" <&>.bin` || fs.requests[0].Size != int64(len(data)) {
		t.Errorf("slot requests %+v", fs.requests)
	}
	r := fs.puts[0]
	if r.Method != http.MethodPut || r.ContentLength != int64(len(data)) || len(r.TransferEncoding) != 0 {
		t.Errorf("PUT %s, length %d, encoding %v", r.Method, r.ContentLength, r.TransferEncoding)
	}
	if got := r.Header.Values("Cookie"); len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Errorf("Cookie headers %q", got)
	}
	for h, want := range map[string]string{"Authorization": "Bearer tok", "Expires": "never", "Content-Type": "application/octet-stream"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if !bytes.Equal(fs.bodies[0], data) {
		t.Error("body differs")
	}
}

func TestUploadEmptyFileHasContentLengthZero(t *testing.T) {
	fs := newFakeService(t)
	res, err := fs.uploader().Upload(context.Background(), bytesFile("empty", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := fs.puts[0]
	if r.ContentLength != 0 || len(r.TransferEncoding) != 0 || r.Header.Get("Content-Length") != "0" {
		t.Errorf("length %d, encoding %v, header %q", r.ContentLength, r.TransferEncoding, r.Header.Get("Content-Length"))
	}
	if res.SHA256 != sum(nil) {
		t.Errorf("sha256 %s", res.SHA256)
	}
}

func TestUploadRetries(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 200000)
	dropMidBody := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.CopyN(io.Discard, r.Body, 1000)
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}
	tests := []struct {
		name         string
		onPut        func(n int, w http.ResponseWriter, r *http.Request) bool
		wantAttempts int
		wantErr      func(error) bool
	}{
		{
			name: "server error then success",
			onPut: func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n == 0 {
					http.Error(w, "disk full", http.StatusInternalServerError)
					return true
				}
				return false
			},
			wantAttempts: 2,
		},
		{
			name: "connection dropped mid-body twice then success",
			onPut: func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n < 2 {
					dropMidBody(w, r)
					return true
				}
				return false
			},
			wantAttempts: 3,
		},
		{
			name:         "always dropped",
			onPut:        func(n int, w http.ResponseWriter, r *http.Request) bool { dropMidBody(w, r); return true },
			wantAttempts: 3,
			wantErr: func(err error) bool {
				var ce *conn.ConnectError
				return errors.As(err, &ce) && strings.Contains(err.Error(), "after 3 attempts")
			},
		},
		{
			name: "413 is final",
			onPut: func(n int, w http.ResponseWriter, r *http.Request) bool {
				http.Error(w, "too big", http.StatusRequestEntityTooLarge)
				return true
			},
			wantAttempts: 1,
			wantErr: func(err error) bool {
				var he *HTTPError
				return errors.As(err, &he) && he.Status == 413 && strings.Contains(err.Error(), "too big")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeService(t)
			fs.onPut = tt.onPut
			u := fs.uploader()
			var retries int
			u.OnRetry = func(*File, int, error, time.Duration) { retries++ }
			res, err := u.Upload(context.Background(), bytesFile("f.bin", data), nil)
			if len(fs.requests) != tt.wantAttempts {
				t.Errorf("%d slot requests, want %d (one fresh slot per attempt)", len(fs.requests), tt.wantAttempts)
			}
			if retries != tt.wantAttempts-1 {
				t.Errorf("%d retries reported", retries)
			}
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("error %v (%T)", err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != tt.wantAttempts || res.SHA256 != sum(data) || !strings.HasSuffix(res.URL, "/get/"+string(rune('0'+tt.wantAttempts))) {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestUploadFailuresBeforePut(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(fs *fakeService, f *File, u *Uploader)
		slots   int
		wantErr func(error) bool
	}{
		{
			name:  "over the announced limit: no slot requested",
			setup: func(fs *fakeService, f *File, u *Uploader) { u.Service.MaxSize = 10 },
			slots: 0,
			wantErr: func(err error) bool {
				var tl *TooLargeError
				return errors.As(err, &tl) && strings.Contains(err.Error(), "100 bytes") && strings.Contains(err.Error(), "10 bytes")
			},
		},
		{
			name: "slot refused: not retried",
			setup: func(fs *fakeService, f *File, u *Uploader) {
				fs.slotErr = &stanza.Error{Type: "modify", Condition: "not-acceptable", Text: "File too large"}
			},
			slots: 1,
			wantErr: func(err error) bool {
				var se *stanza.Error
				return errors.As(err, &se) && se.Condition == "not-acceptable" && strings.Contains(err.Error(), "File too large")
			},
		},
		{
			name:  "plain http to a remote host",
			setup: func(fs *fakeService, f *File, u *Uploader) { fs.putURL = "http://upload.example.org/x" },
			slots: 1,
			wantErr: func(err error) bool {
				var ie *InsecureURLError
				return errors.As(err, &ie)
			},
		},
		{
			name: "file shrank: not retried",
			setup: func(fs *fakeService, f *File, u *Uploader) {
				f.Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("short")), nil }
			},
			slots:   1,
			wantErr: func(err error) bool { return errors.Is(err, ErrSizeChanged) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeService(t)
			u := fs.uploader()
			f := bytesFile("f", bytes.Repeat([]byte("z"), 100))
			tt.setup(fs, f, u)
			_, err := u.Upload(context.Background(), f, nil)
			if err == nil || !tt.wantErr(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
			if len(fs.requests) != tt.slots {
				t.Errorf("%d slot requests, want %d", len(fs.requests), tt.slots)
			}
			if len(fs.bodies) != 0 {
				t.Errorf("%d files stored", len(fs.bodies))
			}
		})
	}
}

func TestUploadStalledPutTimesOut(t *testing.T) {
	fs := newFakeService(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	fs.onPut = func(n int, w http.ResponseWriter, r *http.Request) bool {
		select { // neither read the body nor answer
		case <-release:
		case <-r.Context().Done():
		}
		return true
	}
	u := fs.uploader()
	u.Retries, u.Timeout = 0, 300*time.Millisecond
	_, err := u.Upload(context.Background(), bytesFile("f", bytes.Repeat([]byte("s"), 64<<10)), nil)
	var ce *conn.ConnectError
	if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no data moved") {
		t.Fatalf("error %v (%T), want a stalled-transfer timeout", err, err)
	}
}

func TestUploadInterruptedIsNotRetried(t *testing.T) {
	fs := newFakeService(t)
	ctx, cancel := context.WithCancel(context.Background())
	fs.onPut = func(n int, w http.ResponseWriter, r *http.Request) bool {
		cancel() // the user presses Ctrl-C during the transfer
		_, _ = io.Copy(io.Discard, r.Body)
		// No answer before the client has gone: returning would answer 200
		// (net/http's default), and a client that read it before seeing
		// the cancellation would rightly report the upload done.
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // the test fails below
		}
		return true
	}
	_, err := fs.uploader().Upload(ctx, bytesFile("f", bytes.Repeat([]byte("s"), 64<<10)), nil)
	var ce *conn.ConnectError
	if !errors.Is(err, context.Canceled) || errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want context.Canceled", err, err)
	}
	if len(fs.requests) != 1 {
		t.Errorf("%d slot requests, want 1", len(fs.requests))
	}
}

func TestUploadFileThatGrewSendsItsFirstSizeBytes(t *testing.T) {
	fs := newFakeService(t)
	data := []byte(strings.Repeat("y", 150))
	f := bytesFile("log", data[:100])
	f.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	res, err := fs.uploader().Upload(context.Background(), f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != sum(data[:100]) || len(fs.bodies) != 1 || len(fs.bodies[0]) != 100 {
		t.Errorf("result %+v, stored %d", res, len(fs.bodies))
	}
}

func TestCheckURL(t *testing.T) {
	for _, tt := range []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://upload.example.org/x", false, true},
		{"http://127.0.0.1:5280/x", false, true},
		{"http://[::1]:5280/x", false, true},
		{"http://localhost/x", false, true},
		{"http://upload.example.org/x", false, false},
		{"http://upload.example.org/x", true, true},
		{"http://10.0.0.1/x", false, false},
		{"ftp://upload.example.org/x", true, false},
	} {
		err := CheckURL(tt.url, tt.allowHTTP)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q, %v) = %v", tt.url, tt.allowHTTP, err)
		}
	}
}

func TestServiceFromInfo(t *testing.T) {
	form := func(v string) []disco.Form {
		return []disco.Form{{Type: "result", Fields: []disco.Field{{Var: "FORM_TYPE", Values: []string{NS}},
			{Var: "max-file-size", Values: []string{v}}}}}
	}
	for _, tt := range []struct {
		name  string
		forms []disco.Form
		want  int64
	}{
		{"announced", form("268435456"), 256 << 20},
		{"spaces", form(" 1024 "), 1024},
		{"garbage", form("lots"), 0},
		{"negative", form("-5"), 0},
		{"no form", nil, 0},
	} {
		svc := ServiceFromInfo(&disco.Info{JID: "upload.example.org", Forms: tt.forms})
		if svc.MaxSize != tt.want || svc.JID != "upload.example.org" {
			t.Errorf("%s: %+v, want max %d", tt.name, svc, tt.want)
		}
	}
}

// zeros is an endless source without WriterTo, like a file behind our
// wrappers.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestPutMemoryDoesNotGrowWithSize uploads 128 MiB and checks that the
// bytes allocated stay far below the file size: the body is streamed, not
// buffered.
func TestPutMemoryDoesNotGrowWithSize(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 128 MiB over loopback")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	const size = 128 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	slot := &Slot{PutURL: srv.URL + "/p", GetURL: srv.URL + "/g"}
	body := &hashingReader{r: io.LimitReader(zeros{}, size), h: sha256.New(), left: size}
	if err := Put(context.Background(), srv.Client(), slot, body, size, "application/octet-stream", time.Minute); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d bytes for a %d byte upload", alloc, size)
	}
}

func BenchmarkPut(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	const size = 32 << 20
	slot := &Slot{PutURL: srv.URL + "/p", GetURL: srv.URL + "/g"}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		body := &hashingReader{r: io.LimitReader(zeros{}, size), h: sha256.New(), left: size}
		if err := Put(context.Background(), srv.Client(), slot, body, size, "", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// Issue 14 defect 1: Go's client turns a PUT answered 301/302/303 into a
// GET of the Location, and that GET's 200 was taken for a stored file.
func TestUploadRedirectedPutFails(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			fs := newFakeService(t)
			fs.onPut = func(n int, w http.ResponseWriter, r *http.Request) bool {
				if strings.HasPrefix(r.URL.Path, "/elsewhere") {
					w.WriteHeader(http.StatusOK)
					return true
				}
				http.Redirect(w, r, "/elsewhere", status)
				return true
			}
			u := fs.uploader()
			_, err := u.Upload(context.Background(), bytesFile("f", []byte("data")), nil)
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != status || !strings.Contains(err.Error(), fmt.Sprint(status)) {
				t.Fatalf("error %v (%T), want an HTTPError naming %d", err, err, status)
			}
			if he.Retryable() {
				t.Error("a redirect is retried on a fresh slot; the service would redirect again")
			}
			for _, r := range fs.puts {
				if r.URL.Path == "/elsewhere" {
					t.Errorf("the redirect was followed: %s %s", r.Method, r.URL)
				}
			}
		})
	}
}

// Only 200 and 201 from the slot's PUT URL are success: another 2xx (204,
// 202 accepted-for-later) does not prove the file is stored.
func TestUploadPutSuccessStatuses(t *testing.T) {
	for status, ok := range map[int]bool{200: true, 201: true, 202: false, 204: false, 206: false} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			fs := newFakeService(t)
			fs.onPut = func(n int, w http.ResponseWriter, r *http.Request) bool {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(status)
				return true
			}
			u := fs.uploader()
			u.Retries = 0
			_, err := u.Upload(context.Background(), bytesFile("f", []byte("data")), nil)
			if (err == nil) != ok {
				t.Fatalf("status %d: error %v", status, err)
			}
		})
	}
}
