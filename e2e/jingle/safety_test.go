package jingle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
)

// sendInProcess offers data from a test-controlled sender, so that the
// offer can lie about its hash or carry a hostile name.
func sendInProcess(t *testing.T, user, to string, fi jingle.FileInfo, data []byte) (*jingle.Result, error) {
	t.Helper()
	s := srv.Dial(t, user)
	m := jingle.NewManager(s, ibb.NewManager(s, 0))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fi.Size = int64(len(data))
	return m.SendFile(ctx, to, fi, bytes.NewReader(data), jingle.Options{CandidateAddrs: []string{loop}, Timeout: 20 * time.Second})
}

// TestHashMismatch: the offer announces a hash the data does not have;
// the receiver must fail, keep nothing (not even the temporary file) and
// tell the sender.
func TestHashMismatch(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "jha"), srv.NewUser(t, "jhb")
	dir := t.TempDir()
	recv := start(t, bob, "jingle-receive", "--dir", dir, "--from", srv.JID(alice), "--count", "1", "--auto-accept", "--candidate-addr", loop)
	bobJID := recv.ready(t)
	data := bytes.Repeat([]byte("payload "), 20_000)
	other := sha256.Sum256([]byte("not the payload"))
	wrong := hashes.Hash{Algo: "sha-256", Value: base64.StdEncoding.EncodeToString(other[:])}
	_, err := sendInProcess(t, alice, bobJID, jingle.FileInfo{Name: "tampered.bin", Hash: &wrong}, data)
	if !errors.Is(err, jingle.ErrHashMismatch) {
		t.Errorf("sender error = %v, want the receiver's hash-mismatch report", err)
	}
	recv.wait(t, time.Minute)
	if recv.code == 0 {
		t.Errorf("jingle-receive exited 0 after a hash mismatch")
	}
	if !strings.Contains(recv.stderr.String(), "hash mismatch") {
		t.Errorf("receiver stderr does not mention the mismatch:\n%s", recv.stderr.String())
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory holds %v after a hash mismatch, want nothing", names)
	}
}

// TestHostileNames: names that try to leave --dir land inside it.
func TestHostileNames(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "jpa"), srv.NewUser(t, "jpb")
	parent := t.TempDir()
	dir := filepath.Join(parent, "in")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"../escape.txt", "/tmp/absolute.txt", "..", "a\x00b.txt", "sub/dir/../../x.txt", ".hidden"}
	recv := start(t, bob, "jingle-receive", "--dir", dir, "--from", srv.JID(alice), "--count", "6", "--auto-accept", "--candidate-addr", loop)
	bobJID := recv.ready(t)
	for _, n := range names {
		if _, err := sendInProcess(t, alice, bobJID, jingle.FileInfo{Name: n}, []byte("content of "+n)); err != nil {
			t.Errorf("send %q: %v", n, err)
		}
	}
	recv.wait(t, time.Minute)
	if recv.code != 0 {
		t.Fatalf("jingle-receive exit %d:\n%s", recv.code, recv.stderr.String())
	}
	if got := dirNames(t, parent); len(got) != 1 || got[0] != "in" {
		t.Errorf("files escaped --dir: parent holds %v", got)
	}
	if _, err := os.Stat("/tmp/absolute.txt"); err == nil {
		t.Errorf("/tmp/absolute.txt was written")
	}
	saved := strings.Fields(recv.stdout.String())
	if len(saved) != len(names) {
		t.Fatalf("receiver printed %q, want %d paths", recv.stdout.String(), len(names))
	}
	for _, p := range saved {
		if filepath.Dir(p) != dir {
			t.Errorf("saved %q outside %s", p, dir)
		}
		base := filepath.Base(p)
		if base == ".." || base == "." || strings.HasPrefix(base, ".") || strings.ContainsRune(base, 0) {
			t.Errorf("unsafe saved name %q", base)
		}
	}
}
