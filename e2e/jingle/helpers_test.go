package jingle

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/online"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// proc is a running xmppctl.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr *lineBuffer
	done   chan struct{}
	code   int
	maxRSS int64 // KiB
}

type lineBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	lines chan string
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func env(t *testing.T, user string) []string {
	home := t.TempDir()
	return append([]string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"PATH=" + os.Getenv("PATH"),
	}, srv.AccountEnv(user)...)
}

// start runs xmppctl as user in the background.
func start(t *testing.T, user string, args ...string) *proc {
	t.Helper()
	testserver.Require(t, srv)
	p := &proc{done: make(chan struct{}), stderr: &lineBuffer{lines: make(chan string, 100)}}
	p.cmd = exec.Command(testserver.Binary(t), append(srv.Flags(), args...)...)
	p.cmd.Env = env(t, user)
	p.cmd.Stdout = &p.stdout
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			select {
			case p.stderr.lines <- line:
			default:
			}
		}
	}()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		<-scanned
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			p.maxRSS = ru.Maxrss
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = p.cmd.Process.Kill()
			}
		}
	})
	return p
}

// run runs xmppctl as user and waits.
func run(t *testing.T, user string, args ...string) *proc {
	t.Helper()
	p := start(t, user, args...)
	p.wait(t, 3*time.Minute)
	return p
}

func (p *proc) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("xmppctl %v did not finish in %s; stderr:\n%s", p.cmd.Args[1:], d, p.stderr.String())
	}
}

// ready waits for jingle-receive's "ready to receive as JID" line.
func (p *proc) ready(t *testing.T) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line := <-p.stderr.lines:
			if _, jid, ok := strings.Cut(line, "ready to receive as "); ok {
				return strings.TrimSpace(jid)
			}
		case <-p.done:
			t.Fatalf("jingle-receive exited with %d before it was ready; stderr:\n%s", p.code, p.stderr.String())
		case <-deadline:
			t.Fatalf("jingle-receive not ready; stderr:\n%s", p.stderr.String())
		}
	}
}

// randomFile writes n random bytes and returns the path and SHA-256.
func randomFile(t *testing.T, name string, n int64) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return path, sum
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// dirNames lists a directory.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// makeContacts gives a and b a mutual presence subscription.
func makeContacts(t *testing.T, a, b string) {
	t.Helper()
	sa, sb := srv.Dial(t, a), srv.Dial(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	step := func(from interface {
		Send(context.Context, any) error
		Flush(context.Context) error
	}, typ, to string) {
		if err := from.Send(ctx, stanza.Presence{Type: stanza.PresenceType(typ), To: srv.JID(to)}); err != nil {
			t.Fatal(err)
		}
		if err := from.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(sa, "subscribe", b)
	step(sb, "subscribed", a)
	step(sb, "subscribe", a)
	step(sa, "subscribed", b)
	sa.Close()
	sb.Close()
}

// fileTransferClient logs user in as a client that advertises Jingle file
// transfer (disco#info and caps) and does nothing else yet.
func fileTransferClient(t *testing.T, user string) conn.Session {
	t.Helper()
	s := srv.Dial(t, user)
	resp, err := online.New(online.Options{Bot: true, Features: jingle.Features()})
	if err != nil {
		t.Fatal(err)
	}
	resp.Register(s)
	return s
}

// silentPeer logs user in as a client that advertises Jingle file
// transfer, acknowledges every Jingle request and never answers one.
func silentPeer(t *testing.T, user string) string {
	t.Helper()
	s := fileTransferClient(t, user)
	s.HandleIQ(jingle.NS, "jingle", func(context.Context, *stanza.IQ) (any, error) { return nil, nil })
	return s.JID()
}
