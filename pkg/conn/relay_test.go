package conn

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

const (
	testHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='example.test' version='1.0'>`
	testMechs  = `<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>`
	testSASL2  = `<authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism><inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/></inline></bind></inline></authentication>`
)

func TestHideSASL2(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		done, bind2    bool
	}{
		{"prosody with mod_sasl2_bind2", testHeader + `<stream:features>` + testMechs + testSASL2 + `<ver xmlns='urn:xmpp:features:rosterver'/></stream:features><more`,
			testHeader + `<stream:features>` + testMechs + `<ver xmlns='urn:xmpp:features:rosterver'/></stream:features><more`, true, true},
		{"SASL2 first", testHeader + `<stream:features>` + testSASL2 + testMechs + `</stream:features>`,
			testHeader + `<stream:features>` + testMechs + `</stream:features>`, true, true},
		{"no SASL2", testHeader + `<stream:features>` + testMechs + `</stream:features>`,
			testHeader + `<stream:features>` + testMechs + `</stream:features>`, true, false},
		{"SASL2 without Bind2 kept", testHeader + `<stream:features>` + testMechs + `<authentication xmlns='urn:xmpp:sasl:2'><mechanism>PLAIN</mechanism></authentication></stream:features>`,
			testHeader + `<stream:features>` + testMechs + `<authentication xmlns='urn:xmpp:sasl:2'><mechanism>PLAIN</mechanism></authentication></stream:features>`, true, false},
		{"SASL2 only kept (nothing else to log in with)", testHeader + `<stream:features>` + testSASL2 + `</stream:features>`,
			testHeader + `<stream:features>` + testSASL2 + `</stream:features>`, true, true},
		{"no classic PLAIN kept", testHeader + `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms>` + testSASL2 + `</stream:features>`,
			testHeader + `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms>` + testSASL2 + `</stream:features>`, true, true},
		{"authentication nested deeper is not the offer", testHeader + `<stream:features>` + testMechs + `<x xmlns='urn:other'>` + testSASL2 + `</x></stream:features>`,
			testHeader + `<stream:features>` + testMechs + `<x xmlns='urn:other'>` + testSASL2 + `</x></stream:features>`, true, false},
		{"empty features", testHeader + `<stream:features/>`, testHeader + `<stream:features/>`, true, false},
		{"incomplete", testHeader + `<stream:features>` + testMechs + testSASL2, "", false, false},
		{"header only", testHeader, "", false, false},
		{"malformed features passed unchanged", testHeader + `<stream:features><a></b></stream:features>`,
			testHeader + `<stream:features><a></b></stream:features>`, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, done, bind2, hid := hideSASL2([]byte(tc.in))
			if done != tc.done || bind2 != tc.bind2 {
				t.Fatalf("done %v bind2 %v, want %v %v", done, bind2, tc.done, tc.bind2)
			}
			if done && string(out) != tc.want {
				t.Errorf("out\n%s\nwant\n%s", out, tc.want)
			}
			if hid != (done && tc.want != tc.in) {
				t.Errorf("hid %v", hid)
			}
		})
	}
}

// FuzzHideSASL2: whatever the server sends, the relay either passes it
// unchanged or removes exactly one element span, never panics, and never
// grows the stream.
func FuzzHideSASL2(f *testing.F) {
	f.Add([]byte(testHeader + `<stream:features>` + testMechs + testSASL2 + `</stream:features>`))
	f.Add([]byte(testHeader + `<stream:features>` + testSASL2 + `</stream:features>`))
	f.Add([]byte(`<stream:features><authentication xmlns='urn:xmpp:sasl:2'><inline><bind xmlns='urn:xmpp:bind:0'/>`))
	f.Add([]byte(`<stream:features/`))
	f.Add([]byte(`<stream:features></stream:features>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, done, _, hid := hideSASL2(in)
		if !done {
			return
		}
		if !hid {
			if !bytes.Equal(out, in) {
				t.Fatalf("changed without hiding: %q -> %q", in, out)
			}
			return
		}
		if len(out) >= len(in) {
			t.Fatalf("hid but did not shrink: %q -> %q", in, out)
		}
		// The removed span is one contiguous element: out is a prefix of
		// in followed by a suffix of in, the span starting with "<".
		cut := len(in) - len(out)
		for p := 0; p <= len(out); p++ {
			if bytes.Equal(out[:p], in[:p]) && bytes.Equal(out[p:], in[p+cut:]) && in[p] == '<' {
				return
			}
		}
		t.Fatalf("not one element span removed: %q -> %q", in, out)
	})
}

func TestOffersSASL2Bind2(t *testing.T) {
	if !offersSASL2Bind2([][]byte{[]byte(`<stream:features>` + testMechs + `</stream:features>`), []byte(`<stream:features>` + testSASL2 + `</stream:features>`)}) {
		t.Error("SASL2 with Bind2 not seen")
	}
	if offersSASL2Bind2([][]byte{[]byte(`<stream:features>` + testMechs + `</stream:features>`)}) {
		t.Error("SASL2 seen where there is none")
	}
}

// TestRelayRefusesOtherClients: a local process that connects to the
// relay's port before go-xmpp (without the ephemeral client certificate)
// reads nothing of the server's stream, and the real client still gets
// through.
func TestRelayRefusesOtherClients(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(*peer) {})
	r, err := startRelay(contractCtx(t), Target{Addr: addr, DirectTLS: true}, clientTLS(t), contractDomain, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	header := `<?xml version='1.0'?><stream:stream to='example.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`
	// The relay's one certificate serves both ends: one made the same way,
	// with another key, must not pass for it.
	other, _, err := ephemeralCert(contractDomain)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*tls.Config{
		{InsecureSkipVerify: true}, // no client certificate
		{RootCAs: r.clientTLS.RootCAs, ServerName: contractDomain},
		{RootCAs: r.clientTLS.RootCAs, ServerName: contractDomain, Certificates: []tls.Certificate{other}},
	} {
		c, err := tls.Dial("tcp", r.addr(), cfg)
		if err != nil {
			continue // refused during the handshake: fine
		}
		_, _ = io.WriteString(c, header)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var b [64]byte
		if n, err := c.Read(b[:]); err == nil || n > 0 {
			t.Errorf("a client without the certificate read %q", b[:n])
		}
		c.Close()
	}
	c, err := tls.Dial("tcp", r.addr(), r.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, header)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [4096]byte
	n, err := c.Read(b[:])
	if err != nil || !bytes.Contains(b[:n], []byte("<stream:stream")) {
		t.Fatalf("the real client read %q, %v", b[:n], err)
	}
	if c2, err := net.DialTimeout("tcp", r.addr(), time.Second); err == nil {
		c2.Close()
		t.Error("the relay still listens after its client connected")
	}
}

// TestRelayVerifiesServer: the relay checks the server's certificate with
// the policy it is given, over direct TLS and STARTTLS, and the failure is
// a certificate error (exit 6 with the certificate hint).
func TestRelayVerifiesServer(t *testing.T) {
	for _, startTLS := range []bool{false, true} {
		addr := startServer(t, serverConfig{startTLS: startTLS}, func(*peer) {})
		untrusting := &tls.Config{ServerName: contractDomain, RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
		r, err := startRelay(contractCtx(t), Target{Addr: addr, DirectTLS: !startTLS}, untrusting, contractDomain, 10*time.Second, nil)
		if err == nil {
			r.close()
			t.Fatalf("starttls=%v: relay connected to an untrusted server", startTLS)
		}
		var ce *ConnectError
		if !errors.As(classify(addr, err), &ce) || !ce.Cert {
			t.Errorf("starttls=%v: %v classified as %#v, want a certificate error", startTLS, err, classify(addr, err))
		}
	}
}

// relayToRawServer starts a relay to a bare TLS server on loopback that
// hands each connection to serve, and connects go-xmpp's side to the
// relay; both end with the test.
func relayToRawServer(t *testing.T, serve func(c net.Conn)) (*relay, *tls.Conn) {
	t.Helper()
	srvTLS, _ := contractPKI()
	l, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		serve(c)
	}()
	r, err := startRelay(contractCtx(t), Target{Addr: l.Addr().String(), DirectTLS: true}, clientTLS(t), contractDomain, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	down, err := tls.Dial("tcp", r.addr(), r.clientTLS) // go-xmpp's side
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })
	return r, down
}

// TestRelayStopWritesKeepsOrder: what go-xmpp wrote to the relay before
// the session takes the writes over (stopWrites) reaches the server whole
// and first, however the relay's copy is cut into records, and the
// session's bytes follow it; go-xmpp can write nothing more.
func TestRelayStopWritesKeepsOrder(t *testing.T) {
	got := make(chan []byte, 1)
	r, down := relayToRawServer(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		got <- b
	})
	// More than one TLS record per write: the relay forwards it in pieces.
	var before bytes.Buffer
	for i := range 40 {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 3000+i*97)
		before.Write(chunk)
		if _, err := down.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	up, err := r.stopWrites(contractCtx(t), down)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Write([]byte("late")); err == nil {
		t.Error("go-xmpp's side still takes writes after the handoff")
	}
	after := []byte("<message>the session's own</message>")
	if _, err := up.Write(after); err != nil {
		t.Fatal(err)
	}
	r.close()
	want := append(before.Bytes(), after...)
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("the server read %d bytes, want %d in order (prefix ok: %v)", len(b), len(want), bytes.HasPrefix(b, before.Bytes()))
	}
}

// TestRelayStopWritesCutServer: the server drops the connection around the
// handoff. stopWrites then fails, or the session's own writes do: the cut
// never reads as a connection that takes what is written.
func TestRelayStopWritesCutServer(t *testing.T) {
	r, down := relayToRawServer(t, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })
	_, _ = down.Write([]byte("<presence/>"))
	up, err := r.stopWrites(contractCtx(t), down)
	if err != nil {
		return // the relay saw the cut
	}
	_ = up.SetWriteDeadline(time.Now().Add(10 * time.Second))
	chunk := make([]byte, 16<<10)
	for range 1000 {
		if _, err := up.Write(chunk); err != nil {
			return
		}
	}
	t.Error("16 MB written to a server that had closed the connection, without an error")
}
