package jingle

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpppair"
	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/ibb"
)

const (
	alice = "alice@example.org/a"
	bob   = "bob@example.org/b"
)

type side struct {
	s *xmpppair.Session
	m *Manager
}

func pair(t *testing.T) (side, side) {
	a, b := xmpppair.New(alice, bob)
	t.Cleanup(func() { a.Close(); b.Close() })
	return side{a, NewManager(a, ibb.NewManager(a, 0))}, side{b, NewManager(b, ibb.NewManager(b, 0))}
}

type outcome struct {
	res *Result
	err error
}

// transfer runs one offer from alice to bob; bob's side calls recv.
func transfer(t *testing.T, data []byte, fi FileInfo, sendOpts, recvOpts Options,
	recv func(ctx context.Context, sess *Session, path string) (*Result, error)) (outcome, outcome, string) {
	t.Helper()
	a, b := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "out")
	rc := make(chan outcome, 1)
	incoming := b.m.Incoming()
	go func() {
		select {
		case sess := <-incoming:
			if recv == nil {
				recv = func(ctx context.Context, sess *Session, path string) (*Result, error) {
					f, err := os.Create(path + ".part")
					if err != nil {
						return nil, err
					}
					defer f.Close()
					return sess.Receive(ctx, f, func() error { return os.Rename(path+".part", path) }, recvOpts)
				}
			}
			r, err := recv(ctx, sess, path)
			rc <- outcome{r, err}
		case <-ctx.Done():
			rc <- outcome{nil, ctx.Err()}
		}
	}()
	if fi.Size == 0 {
		fi.Size = int64(len(data))
	}
	r, err := a.m.SendFile(ctx, bob, fi, bytes.NewReader(data), sendOpts)
	return outcome{r, err}, <-rc, path
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestTransfer(t *testing.T) {
	loop := []string{"127.0.0.1"}
	tests := []struct {
		name          string
		size          int
		send, recv    Options
		wantTransport string
	}{
		{"s5b direct both sides", 3<<20 + 17, Options{CandidateAddrs: loop}, Options{CandidateAddrs: loop}, "s5b-direct"},
		{"s5b initiator candidates only", 100_000, Options{CandidateAddrs: loop}, Options{}, "s5b-direct"},
		{"s5b responder candidates only", 100_000, Options{}, Options{CandidateAddrs: loop}, "s5b-direct"},
		{"empty file", 0, Options{CandidateAddrs: loop}, Options{CandidateAddrs: loop}, "s5b-direct"},
		{"ibb offered", 50_000, Options{Transport: "ibb"}, Options{}, "ibb"},
		{"fallback to ibb", 50_000, Options{}, Options{}, "ibb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := random(tt.size)
			so, ro, path := transfer(t, data, FileInfo{Name: "f.bin"}, tt.send, tt.recv, nil)
			if so.err != nil || ro.err != nil {
				t.Fatalf("send error %v, receive error %v", so.err, ro.err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("received file differs (%d bytes, %v), want %d bytes", len(got), err, len(data))
			}
			if so.res.Transport != tt.wantTransport || ro.res.Transport != tt.wantTransport {
				t.Errorf("transport %s/%s, want %s", so.res.Transport, ro.res.Transport, tt.wantTransport)
			}
			if !ro.res.Verified || !so.res.Verified {
				t.Errorf("verified sender=%v receiver=%v, want both", so.res.Verified, ro.res.Verified)
			}
			if so.res.HashText != ro.res.HashText {
				t.Errorf("hash %s vs %s", so.res.HashText, ro.res.HashText)
			}
		})
	}
}

func TestDecline(t *testing.T) {
	so, ro, _ := transfer(t, []byte("x"), FileInfo{Name: "x"}, Options{Transport: "ibb"}, Options{},
		func(ctx context.Context, sess *Session, _ string) (*Result, error) {
			return nil, sess.Decline(ctx, Reason{})
		})
	if ro.err != nil {
		t.Fatal(ro.err)
	}
	if !errors.Is(so.err, ErrDeclined) {
		t.Errorf("SendFile error = %v, want ErrDeclined", so.err)
	}
}

func TestHashMismatch(t *testing.T) {
	h, _ := hashes.New("sha-256")
	h.Write([]byte("something else"))
	wrong := hashes.Sum("sha-256", h)
	so, ro, path := transfer(t, random(10_000), FileInfo{Name: "x", Hash: &wrong},
		Options{CandidateAddrs: []string{"127.0.0.1"}}, Options{}, nil)
	if !errors.Is(ro.err, ErrHashMismatch) {
		t.Errorf("Receive error = %v, want ErrHashMismatch", ro.err)
	}
	if !errors.Is(so.err, ErrHashMismatch) {
		t.Errorf("SendFile error = %v, want ErrHashMismatch", so.err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file was committed despite the mismatch (stat: %v)", err)
	}
}

// TestNotReceiving: a process that never asked for offers (a sender)
// declines them at once instead of leaving the peer waiting.
func TestNotReceiving(t *testing.T) {
	a, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := a.m.SendFile(ctx, bob, FileInfo{Name: "x", Size: 1}, bytes.NewReader([]byte("x")), Options{Transport: "ibb"})
	if !errors.Is(err, ErrDeclined) {
		t.Errorf("SendFile error = %v, want ErrDeclined", err)
	}
}

// TestFileShorterThanAnnounced: a file that is shorter than the size in
// the offer (it shrank after it was announced) goes through the inline copy
// on both ends and fails on both: the sender says the file changed, the
// receiver never commits what it got.
func TestFileShorterThanAnnounced(t *testing.T) {
	a, b := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, random(inlineBuf+5), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	loop := Options{CandidateAddrs: []string{"127.0.0.1"}}
	path := filepath.Join(dir, "out")
	rc := make(chan outcome, 1)
	incoming := b.m.Incoming()
	go func() {
		select {
		case sess := <-incoming:
			out, err := os.Create(path + ".part")
			if err != nil {
				rc <- outcome{nil, err}
				return
			}
			defer out.Close()
			r, err := sess.Receive(ctx, out, func() error { return os.Rename(path+".part", path) }, loop)
			rc <- outcome{r, err}
		case <-ctx.Done():
			rc <- outcome{nil, ctx.Err()}
		}
	}()
	_, serr := a.m.SendFile(ctx, bob, FileInfo{Name: "f.bin", Size: 3 * inlineBuf}, f, loop)
	ro := <-rc
	t.Logf("send: %v; receive: %v", serr, ro.err)
	if serr == nil || !strings.Contains(serr.Error(), "file changed while sending") {
		t.Errorf("SendFile error = %v, want the file changed", serr)
	}
	if ro.err == nil {
		t.Error("Receive of a short stream succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a short file was committed (stat: %v)", err)
	}
}
