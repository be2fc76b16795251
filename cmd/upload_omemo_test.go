package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/aesgcm"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/upload"
)

// tlsUploadServer is the fake upload service on https, recording the
// slot requests' sizes and the PUTs' content types.
type tlsUploadServer struct {
	*fakeUploadServer
	mu        sync.Mutex
	slotSizes []int64
	putTypes  []string
}

func newTLSUploadServer(t *testing.T, sess *xmpptest.Session, maxSize string) *tlsUploadServer {
	fu := newFakeUploadServer(t, sess, maxSize)
	ts := &tlsUploadServer{fakeUploadServer: fu}
	h := fu.http.Config.Handler
	fu.http = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.putTypes = append(ts.putTypes, r.Header.Get("Content-Type"))
		ts.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(fu.http.Close)
	onIQ := sess.OnIQ
	sess.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		if r, ok := iq.Payload.(upload.Request); ok {
			ts.mu.Lock()
			ts.slotSizes = append(ts.slotSizes, r.Size)
			ts.mu.Unlock()
		}
		return onIQ(iq)
	}
	return ts
}

func TestUploadOMEMOEncrypts(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	fu := newTLSUploadServer(t, sess, "100000")
	f.HTTPClient = fu.http.Client
	plain := strings.Repeat("secret report line\n", 500)
	p := writeFiles(t, map[string]string{"report.txt": plain, "empty.txt": ""})
	code := Run(context.Background(), f, []string{"--json", "upload", "--omemo", p["report.txt"], p["empty.txt"]})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, f.IO.ErrOut)
	}
	lines := strings.Split(strings.TrimSpace(f.IO.Out.(interface{ String() string }).String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout %q", lines)
	}
	for i, want := range []string{plain, ""} {
		var res uploadJSON
		if err := json.Unmarshal([]byte(lines[i]), &res); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.URL, "aesgcm://127.0.0.1:") || !res.Encrypted || res.Size != int64(len(want))+16 ||
			res.ContentType != "application/octet-stream" {
			t.Fatalf("result %+v", res)
		}
		httpsURL, s, err := aesgcm.ParseURL(res.URL)
		if err != nil {
			t.Fatal(err)
		}
		path := strings.TrimPrefix(httpsURL, fu.http.URL)
		stored := fu.stored[strings.ReplaceAll(path, "%20", " ")]
		if int64(len(stored)) != res.Size || (len(want) > 0 && bytes.Contains(stored, []byte("secret report"))) {
			t.Fatalf("stored %d bytes (want %d), plaintext visible: %v", len(stored), res.Size, bytes.Contains(stored, []byte("secret")))
		}
		var out bytes.Buffer
		d, _ := aesgcm.NewDecrypter(&out, s.Key, s.IV)
		_, _ = d.Write(stored)
		if err := d.Close(); err != nil || out.String() != want {
			t.Fatalf("decrypting the stored file: %v", err)
		}
	}
	fu.mu.Lock()
	defer fu.mu.Unlock()
	slices.Sort(fu.slotSizes) // two transfers at a time: any order
	if len(fu.slotSizes) != 2 || fu.slotSizes[0] != 16 || fu.slotSizes[1] != int64(len(plain))+16 {
		t.Errorf("slot sizes %v, want the ciphertext sizes", fu.slotSizes)
	}
	for _, ct := range fu.putTypes {
		if ct != "application/octet-stream" {
			t.Errorf("PUT content type %q", ct)
		}
	}
}

// The fake service hands out http URLs: an encrypted upload refuses them
// before sending a byte, even on loopback.
func TestUploadOMEMONeedsHTTPS(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	fu := newFakeUploadServer(t, sess, "1000")
	f.HTTPClient = fu.http.Client
	p := writeFiles(t, map[string]string{"a.txt": "a"})
	if code := Run(context.Background(), f, []string{"upload", "--omemo", p["a.txt"]}); code != ExitRemote {
		t.Fatalf("exit %d, want %d: %s", code, ExitRemote, f.IO.ErrOut)
	}
	if len(fu.stored) != 0 || f.IO.Out.(interface{ String() string }).String() != "" {
		t.Fatalf("stored %d files, stdout %q", len(fu.stored), f.IO.Out)
	}
	if !strings.Contains(f.IO.ErrOut.(interface{ String() string }).String(), "must be https") {
		t.Errorf("stderr %q", f.IO.ErrOut)
	}
}

// Defence in depth: whatever the caller, shareLinks never puts an aesgcm
// link (its key) into a plaintext message.
func TestShareLinksRefusesAESGCM(t *testing.T) {
	f, _, sess := testFactory(t, nil)
	s, _ := aesgcm.NewSecret()
	for _, it := range []*uploadItem{
		{arg: "a", secret: s, res: &upload.Result{URL: "aesgcm://h/a#00"}},
		{arg: "b", res: &upload.Result{URL: "AESGCM://h/b#00"}},
	} {
		if _, err := shareLinks(context.Background(), f, sess, nil, nil, "", []*uploadItem{it}, []string{"bob@example.org"}, nil, nil); err == nil {
			t.Errorf("%s: shared", it.arg)
		}
	}
	if msgs := sentMessages(t, sess); len(msgs) != 0 {
		t.Fatalf("sent %d messages", len(msgs))
	}
}
