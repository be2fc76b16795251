package cmd

// Regression tests for defects hostile testing found (issue 14).

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

// Defect 11: security warnings are never quiet.
func TestInsecureWarningSurvivesQuiet(t *testing.T) {
	f, _, _ := testFactory(t, nil)
	code := Run(context.Background(), f, []string{"--quiet", "--insecure", "send", "-m", "x", "bob@example.org"})
	stderr := f.IO.ErrOut.(interface{ String() string }).String()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "--insecure") || !strings.Contains(stderr, "NOT verified") {
		t.Errorf("stderr %q: --quiet hid the --insecure warning", stderr)
	}
}

// cutDuringTLS accepts connections and cuts each during the TLS
// handshake: at once for direct TLS, after <proceed/> for STARTTLS.
func cutDuringTLS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 4096)
				if n, _ := c.Read(b); n == 0 || b[0] == 0x16 {
					return // a TLS ClientHello: cut
				}
				_, _ = c.Write([]byte(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='1' from='example.org' version='1.0'>` +
					`<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>`))
				_, _ = c.Read(b)
				_, _ = c.Write([]byte(`<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`))
				_, _ = c.Read(b) // the ClientHello, then the cut
			}()
		}
	}()
	return l.Addr().String()
}

// Defect 11: a connection cut during the TLS handshake is exit 6 without
// the hint meant for untrusted certificates.
func TestTLSHandshakeCutHasNoCertificateHint(t *testing.T) {
	addr := cutDuringTLS(t)
	for _, mode := range []string{"direct", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			f, _, _ := testFactory(t, nil)
			f.Dial = conn.Dial
			code := Run(context.Background(), f, []string{"--server", addr, "--tls", mode, "send", "-m", "x", "bob@example.org"})
			stderr := f.IO.ErrOut.(interface{ String() string }).String()
			if code != ExitConnect {
				t.Fatalf("exit %d, want %d: %s", code, ExitConnect, stderr)
			}
			if strings.Contains(stderr, "not trusted") || strings.Contains(stderr, "ca_file") {
				t.Errorf("stderr %q: a cut connection blamed on the certificate", stderr)
			}
		})
	}
}

// Only a certificate failure gets the certificate hint.
func TestCertificateHintOnlyForCertificates(t *testing.T) {
	cert := &conn.ConnectError{Addr: "a:1", TLS: true, Cert: true, Err: errors.New("x509: certificate signed by unknown authority")}
	cut := &conn.ConnectError{Addr: "a:1", TLS: true, Err: errors.New("starttls handshake: EOF")}
	if h := hintFor(cert); !strings.Contains(h, "not trusted") {
		t.Errorf("certificate error: hint %q", h)
	}
	if h := hintFor(cut); strings.Contains(h, "not trusted") {
		t.Errorf("cut handshake: hint %q", h)
	}
}
