package jingle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
)

// gate blocks every read or write after the first limit bytes until it is
// opened: a peer that stays connected but stops moving data.
type gate struct {
	limit int64
	n     int64
	open  chan struct{}
	src   io.Reader
}

func (g *gate) wait() {
	<-g.open
}

func (g *gate) Read(p []byte) (int, error) {
	if g.n >= g.limit {
		g.wait()
		return 0, errors.New("gate released")
	}
	p = p[:min(int64(len(p)), g.limit-g.n)]
	k, err := g.src.Read(p)
	g.n += int64(k)
	return k, err
}

func (g *gate) Write(p []byte) (int, error) {
	if g.n >= g.limit {
		g.wait()
		return 0, errors.New("gate released")
	}
	g.n += int64(len(p))
	return len(p), nil
}

func (g *gate) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }

// stuckSender offers 8 MiB from user to the full JID to over transport
// from a stand-in client that stops after limit bytes and keeps its
// connection; the result of its SendFile arrives on the channel.
func stuckSender(t *testing.T, user, to string, transport jingle.Method, limit int64) <-chan error {
	t.Helper()
	s := srv.Dial(t, user)
	m := jingle.NewManager(s, ibb.NewManager(s, 0))
	src := &gate{limit: limit, open: make(chan struct{}), src: bytes.NewReader(make([]byte, 8<<20))}
	t.Cleanup(func() { close(src.open) })
	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := m.SendFile(ctx, to, jingle.FileInfo{Name: "slow.bin", Size: 8 << 20}, src,
			jingle.Options{Transport: transport, CandidateAddrs: []string{loop}, Timeout: time.Hour})
		sent <- err
	}()
	return sent
}

// standInReceiver logs user in as a client with Jingle file transfer that
// accepts the first offer into sink; it returns its JID and the result of
// its Receive.
func standInReceiver(t *testing.T, user string, sink jingle.Sink) (string, <-chan error) {
	t.Helper()
	s := fileTransferClient(t, user)
	m := jingle.NewManager(s, ibb.NewManager(s, 0))
	received := make(chan error, 1)
	go func() {
		sess := <-m.Incoming()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := sess.Receive(ctx, sink, func() error { return nil }, jingle.Options{CandidateAddrs: []string{loop}, Timeout: time.Hour})
		received <- err
	}()
	return s.JID(), received
}

// failsSoon checks that a stand-in peer's transfer ended with an error.
func failsSoon(t *testing.T, outcome <-chan error, who string) {
	t.Helper()
	select {
	case err := <-outcome:
		if err == nil {
			t.Errorf("the %s finished without an error", who)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("the %s was not told that the session ended", who)
	}
}

// TestStalledPeer: a peer that keeps its connection but stops reading or
// writing in the middle of a transfer ends it after --timeout with exit 7,
// on both ends of the data path, and nothing is kept.
func TestStalledPeer(t *testing.T) {
	testserver.Require(t, srv)

	t.Run("receiver stops reading", func(t *testing.T) {
		alice, bob := srv.NewUser(t, "jka"), srv.NewUser(t, "jkb")
		// The stand-in peer is stuck in a write it cannot leave (like a
		// hung disk) until the test ends.
		sink := &gate{limit: 1 << 20, open: make(chan struct{})}
		defer close(sink.open)
		bobJID, _ := standInReceiver(t, bob, sink)
		file, _ := randomFile(t, "big.bin", 64<<20)
		began := time.Now()
		send := run(t, alice, "--timeout", "2s", "jingle-send", "--candidate-addr", loop, "--proxy", "none", file, bobJID)
		if send.code != 7 || !strings.Contains(send.stderr.String(), "no data moved for 2s") {
			t.Fatalf("jingle-send exit %d after %s, want 7 and the stall named; stderr:\n%s", send.code, time.Since(began), send.stderr.String())
		}
	})

	for _, transport := range []jingle.Method{jingle.MethodS5B, jingle.MethodIBB} {
		t.Run("sender stops writing over "+string(transport), func(t *testing.T) {
			alice, bob := srv.NewUser(t, "jla"), srv.NewUser(t, "jlb")
			dir := t.TempDir()
			recv := start(t, bob, "--timeout", "2s", "jingle-receive", "--dir", dir, "--from", srv.JID(alice),
				"--count", "1", "--auto-accept", "--candidate-addr", loop, "--proxy", "none")
			bobJID := recv.ready(t)
			sent := stuckSender(t, alice, bobJID, transport, 256<<10)
			recv.wait(t, time.Minute)
			if recv.code != 7 || !strings.Contains(recv.stderr.String(), "no data moved for 2s") {
				t.Fatalf("jingle-receive exit %d, want 7 and the stall named; stderr:\n%s", recv.code, recv.stderr.String())
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("directory holds %v after a stalled transfer, want nothing", names)
			}
			failsSoon(t, sent, "stalled sender")
		})
	}
}

// TestInterruptedTransfer: Ctrl-C in the middle of a transfer exits 130 on
// either end, tells the peer (its transfer fails at once instead of
// waiting) and leaves nothing half-written behind.
func TestInterruptedTransfer(t *testing.T) {
	testserver.Require(t, srv)

	t.Run("receiver", func(t *testing.T) {
		alice, bob := srv.NewUser(t, "jia"), srv.NewUser(t, "jib")
		dir := t.TempDir()
		recv := start(t, bob, "jingle-receive", "--dir", dir, "--from", srv.JID(alice),
			"--count", "1", "--auto-accept", "--candidate-addr", loop, "--proxy", "none")
		sent := stuckSender(t, alice, recv.ready(t), "s5b", 256<<10)
		waitForPartial(t, dir)
		_ = recv.cmd.Process.Signal(os.Interrupt)
		recv.wait(t, 30*time.Second)
		if recv.code != 130 {
			t.Fatalf("jingle-receive exit %d after SIGINT, want 130; stderr:\n%s", recv.code, recv.stderr.String())
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("directory holds %v after an interrupted transfer, want nothing", names)
		}
		failsSoon(t, sent, "sender")
	})

	t.Run("sender", func(t *testing.T) {
		alice, bob := srv.NewUser(t, "jja"), srv.NewUser(t, "jjb")
		dir := t.TempDir()
		f, err := os.Create(filepath.Join(dir, ".part"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		bobJID, received := standInReceiver(t, bob, f)
		// In-band, 64 MiB take long enough (a few MB/s through the
		// server) to be interrupted in the middle.
		file, _ := randomFile(t, "big.bin", 64<<20)
		send := start(t, alice, "jingle-send", "--transport", "ibb", file, bobJID)
		waitForPartial(t, dir)
		_ = send.cmd.Process.Signal(os.Interrupt)
		send.wait(t, 30*time.Second)
		if send.code != 130 {
			t.Fatalf("jingle-send exit %d after SIGINT, want 130; stderr:\n%s", send.code, send.stderr.String())
		}
		failsSoon(t, received, "receiver")
	})
}

// waitForPartial waits until some file in dir holds data. The receiver
// says nothing while bytes flow (no terminal: no progress), so the file
// itself is the observation, polled until the deadline.
func waitForPartial(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && fi.Size() > 0 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no data arrived in %s", dir)
}
