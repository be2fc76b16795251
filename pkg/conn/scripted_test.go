package conn

// A scripted XMPP server on loopback for tests that need the real go-xmpp
// decoding path with input no real server would forward: it logs the
// client in (direct TLS, PLAIN, classic bind) and then writes whatever
// the test gives it.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testCertOnce sync.Once
	testCert     tls.Certificate
)

func scriptedCert(t testing.TB) tls.Certificate {
	testCertOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"example.org"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return testCert
}

// scriptedServer accepts one client, logs it in and hands the connection
// to the test.
type scriptedServer struct {
	got   received // what the client wrote after login
	l     net.Listener
	conns chan net.Conn
}

const (
	scriptedHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.org' version='1.0'>`
	scriptedSASL   = `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`
	scriptedBind   = `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`
)

var reBindID = regexp.MustCompile(`<iq type='set' id='([0-9a-f]+)'><bind`)

func newScriptedServer(t testing.TB) *scriptedServer {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{scriptedCert(t)}})
	if err != nil {
		t.Fatal(err)
	}
	ss := &scriptedServer{l: l, conns: make(chan net.Conn, 1)}
	t.Cleanup(func() { l.Close() })
	go ss.serve()
	return ss
}

func (ss *scriptedServer) serve() {
	c, err := ss.l.Accept()
	if err != nil {
		close(ss.conns)
		return
	}
	if err := scriptedLogin(c); err != nil {
		c.Close()
		close(ss.conns)
		return
	}
	// Keep reading what the client writes (answers to IQs): a socket
	// closed with unread data is reset, and a reset can discard what the
	// client had not read yet.
	go func() { _, _ = io.Copy(&ss.got, c) }()
	ss.conns <- c
}

// scriptedLogin answers each step of go-xmpp's login once the client's
// part of it has arrived.
func scriptedLogin(c net.Conn) error {
	var buf []byte
	readUntil := func(marker string) ([]byte, error) {
		p := make([]byte, 4096)
		for {
			if i := bytes.Index(buf, []byte(marker)); i >= 0 {
				got := buf[:i+len(marker)]
				buf = append([]byte(nil), buf[i+len(marker):]...)
				return got, nil
			}
			n, err := c.Read(p)
			if err != nil {
				return nil, err
			}
			buf = append(buf, p[:n]...)
		}
	}
	steps := []struct{ wait, answer string }{
		{"version='1.0'>", scriptedHeader + scriptedSASL},
		{"</auth>", `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`},
		{"version='1.0'>", scriptedHeader + scriptedBind},
	}
	for _, st := range steps {
		if _, err := readUntil(st.wait); err != nil {
			return err
		}
		if _, err := c.Write([]byte(st.answer)); err != nil {
			return err
		}
	}
	got, err := readUntil("</iq>")
	if err != nil {
		return err
	}
	id := "x"
	if m := reBindID.FindSubmatch(got); m != nil {
		id = string(m[1])
	}
	if _, err := c.Write([]byte(`<iq type='result' id='` + id + `'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>me@example.org/r</jid></bind></iq>`)); err != nil {
		return err
	}
	_, err = readUntil("</presence>")
	return err
}

// dialScripted logs a session in to a fresh scripted server and returns
// both ends.
func dialScripted(t testing.TB, opts ...func(*Options)) (*session, net.Conn) {
	t.Helper()
	s, c, _ := dialScriptedServer(t, opts...)
	return s, c
}

// dialScriptedServer is dialScripted that also returns the server, whose
// got field records what the client writes.
func dialScriptedServer(t testing.TB, opts ...func(*Options)) (*session, net.Conn, *scriptedServer) {
	t.Helper()
	ss := newScriptedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := Options{JID: "me@example.org", Password: "pw", Server: ss.l.Addr().String(),
		TLSMode: "direct", TLS: TLSPolicy{Insecure: true}}
	for _, f := range opts {
		f(&o)
	}
	s, err := Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := <-ss.conns
	if !ok {
		t.Fatal("scripted login failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*session), c, ss
}

// received records a stream (at least its last receivedMax bytes) and lets a test
// wait for a text in it.
type received struct {
	mu   sync.Mutex
	buf  []byte
	more chan struct{} // closed and replaced at every write
}

const receivedMax = 1 << 20

func (r *received) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	if len(r.buf) > 2*receivedMax {
		// In place and seldom, so that a long stream (benchmarks) costs
		// little and allocates nothing.
		r.buf = r.buf[:copy(r.buf, r.buf[len(r.buf)-receivedMax:])]
	}
	if r.more != nil {
		close(r.more)
		r.more = nil
	}
	return len(p), nil
}

// waitFor returns the recorded stream once it contains text, or what it
// holds when ctx ends.
func (r *received) waitFor(ctx context.Context, text string) (string, bool) {
	for {
		r.mu.Lock()
		got := string(r.buf)
		if strings.Contains(got, text) {
			r.mu.Unlock()
			return got, true
		}
		if r.more == nil {
			r.more = make(chan struct{})
		}
		more := r.more
		r.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return got, false
		}
	}
}
