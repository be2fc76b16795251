package conn

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// cutListener accepts connections, reads what the client sends first and
// closes: a connection cut during the TLS handshake (direct TLS) or right
// after the STARTTLS request.
func cutListener(t *testing.T, greeting string) string {
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
				if greeting == "" {
					_, _ = c.Read(b) // the ClientHello
					return
				}
				_, _ = c.Read(b) // the stream header
				_, _ = c.Write([]byte(greeting))
				_, _ = c.Read(b) // <starttls/>
				_, _ = c.Write([]byte(`<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`))
				_, _ = c.Read(b) // the ClientHello
			}()
		}
	}()
	return l.Addr().String()
}

// Issue 14 defect 11: a cut during the TLS handshake is a TLS failure
// but not a certificate problem (the "not trusted" hint is for those).
func TestTLSHandshakeCutIsNotACertificateError(t *testing.T) {
	starttls := scriptedHeader + `<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>`
	for _, tc := range []struct{ mode, greeting string }{{"direct", ""}, {"starttls", starttls}} {
		t.Run(tc.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Dial(ctx, Options{JID: "me@example.org", Password: "pw", Server: cutListener(t, tc.greeting), TLSMode: tc.mode})
			var ce *ConnectError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want a ConnectError", err, err)
			}
			if ce.Cert {
				t.Errorf("%v: reported as a certificate problem", err)
			}
		})
	}
}

// A server whose certificate is not trusted is a certificate problem.
func TestUntrustedCertificateIsACertificateError(t *testing.T) {
	ss := newScriptedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Dial(ctx, Options{JID: "me@example.org", Password: "pw", Server: ss.l.Addr().String(), TLSMode: "direct"})
	var ce *ConnectError
	if !errors.As(err, &ce) || !ce.TLS || !ce.Cert {
		t.Fatalf("error %v (%T %+v), want a certificate ConnectError", err, err, ce)
	}
}
