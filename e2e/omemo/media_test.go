package omemo

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// TestUploadOMEMOShare: upload --omemo --to encrypts the file (XEP-0454),
// then shares the caption and the aesgcm:// link inside OMEMO messages
// that python-omemo decrypts: the link is the whole body, there is no
// jabber:x:oob (it travels in clear), and the link opens to the same
// bytes with xmppctl download. A recipient without OMEMO gets nothing.
func TestUploadOMEMOShare(t *testing.T) {
	testserver.Require(t, srv)
	alice := newBot(t, "alice")
	bob := srv.NewUser(t, "bob")
	p := startPeer(t, bob)
	dir := t.TempDir()
	plain := make([]byte, 200<<10)
	_, _ = rand.Read(plain)
	src := filepath.Join(dir, "report.bin")
	if err := os.WriteFile(src, plain, 0o600); err != nil {
		t.Fatal(err)
	}

	r := alice.run(t, "", "upload", "--omemo", "--json", "--caption", "nightly <report>", "--to", srv.JID(bob), src)
	if r.Code != 0 {
		t.Fatalf("upload: exit %d", r.Code)
	}
	var up struct {
		URL       string `json:"url"`
		Encrypted bool   `json:"encrypted"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(r.Stdout, "\n", 2)[0]), &up); err != nil || !up.Encrypted || !strings.HasPrefix(up.URL, "aesgcm://") {
		t.Fatalf("--json = %q (%v)", r.Stdout, err)
	}
	if ev := p.message(wait); ev["body"] != "nightly <report>" {
		t.Fatalf("caption: peer got %v", ev)
	}
	ev := p.message(wait)
	if ev["body"] != up.URL || ev["oob"] != false || ev["eme"] != true {
		t.Fatalf("link: peer got %v, want body %q without oob", ev, up.URL)
	}
	if fb, _ := ev["fallback"].(string); strings.Contains(fb, "aesgcm") {
		t.Fatalf("the link leaked into the fallback body: %q", fb)
	}

	out := filepath.Join(dir, "got.bin")
	if r := alice.run(t, "", "download", "-o", out, ev["body"].(string)); r.Code != 0 {
		t.Fatalf("download: exit %d", r.Code)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, plain) {
		t.Fatal("downloaded file differs from the upload")
	}

	// Never a downgrade: a contact without OMEMO fails and gets nothing
	// (the file itself is uploaded and its link printed: exit 3, partial).
	plainUser := srv.NewUser(t, "carol")
	r = alice.run(t, "", "upload", "--omemo", "--to", srv.JID(plainUser), src)
	if r.Code != 3 || !strings.Contains(r.Stderr, "publishes no OMEMO device") || !strings.Contains(r.Stderr, "hint: xmppctl omemo devices") {
		t.Fatalf("to a contact without OMEMO: exit %d, stderr %q", r.Code, r.Stderr)
	}
}
