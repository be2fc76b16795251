package conn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf issues a server certificate for host, valid from nb to na.
func (ca *testCA) leaf(t *testing.T, host string, nb, na time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: nb, NotAfter: na,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) file(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// handshake runs a real TLS handshake on loopback between a server
// presenting cert and a client using cfg; it returns the client's error.
func handshake(t *testing.T, cert tls.Certificate, cfg *tls.Config) error {
	t.Helper()
	// Loopback TCP, not net.Pipe: both ends write at once when the client
	// refuses (its alert against the server's flight), which a synchronous
	// pipe turns into a deadlock.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	err = tls.Client(c, cfg).Handshake()
	c.Close()
	<-done
	return err
}

func TestCAFileVerification(t *testing.T) {
	ca, other := newTestCA(t, "own CA"), newTestCA(t, "stranger CA")
	now := time.Now()
	good := ca.leaf(t, "example.org", now.Add(-time.Hour), now.Add(time.Hour))
	tests := []struct {
		name    string
		cert    tls.Certificate
		policy  TLSPolicy
		wantErr any // nil, or a pointer to the x509 error type expected inside
	}{
		{"signed by the CA file", good, TLSPolicy{CAFile: ca.file(t)}, nil},
		{"wrong host", ca.leaf(t, "evil.example", now.Add(-time.Hour), now.Add(time.Hour)), TLSPolicy{CAFile: ca.file(t)}, &x509.HostnameError{}},
		{"expired", ca.leaf(t, "example.org", now.Add(-2*time.Hour), now.Add(-time.Hour)), TLSPolicy{CAFile: ca.file(t)}, &x509.CertificateInvalidError{}},
		{"unknown CA, not in the system pool either", other.leaf(t, "example.org", now.Add(-time.Hour), now.Add(time.Hour)), TLSPolicy{CAFile: ca.file(t)}, &x509.UnknownAuthorityError{}},
		{"insecure with a CA file verifies nothing", other.leaf(t, "evil.example", now.Add(-time.Hour), now.Add(time.Hour)), TLSPolicy{CAFile: ca.file(t), Insecure: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.policy.Config("example.org")
			if err != nil {
				t.Fatal(err)
			}
			err = handshake(t, tt.cert, cfg)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("handshake failed: %v", err)
				}
				return
			}
			var verr *tls.CertificateVerificationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v (%T), want a *tls.CertificateVerificationError", err, err)
			}
			switch tt.wantErr.(type) {
			case *x509.HostnameError:
				var e x509.HostnameError
				if !errors.As(err, &e) {
					t.Errorf("err = %v, want a HostnameError", err)
				}
			case *x509.CertificateInvalidError:
				var e x509.CertificateInvalidError
				if !errors.As(err, &e) {
					t.Errorf("err = %v, want a CertificateInvalidError", err)
				}
			case *x509.UnknownAuthorityError:
				var e x509.UnknownAuthorityError
				if !errors.As(err, &e) {
					t.Errorf("err = %v, want an UnknownAuthorityError", err)
				}
			}
		})
	}
}

// TestCAFileFallsBackToSystemRoots proves that a CA file adds to the
// system's roots instead of replacing them: a server signed by a CA that
// only the system pool holds still verifies. Go loads the system pool once
// per process, so the check runs in a child whose SSL_CERT_FILE is a CA
// made here.
func TestCAFileFallsBackToSystemRoots(t *testing.T) {
	if dir := os.Getenv("XMPPCTL_TLS_CHILD"); dir != "" {
		leaf, err := tls.LoadX509KeyPair(filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf.key"))
		if err != nil {
			t.Fatal(err)
		}
		own := newTestCA(t, "own CA")
		cfg, err := TLSPolicy{CAFile: own.file(t)}.Config("example.org")
		if err != nil {
			t.Fatal(err)
		}
		if err := handshake(t, leaf, cfg); err != nil {
			t.Fatalf("server signed by a system root refused: %v", err)
		}
		return
	}
	dir := t.TempDir()
	sys := newTestCA(t, "system CA")
	now := time.Now()
	leaf := sys.leaf(t, "example.org", now.Add(-time.Hour), now.Add(time.Hour))
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"sys.pem":  sys.pem,
		"leaf.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}),
		"leaf.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCAFileFallsBackToSystemRoots$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "XMPPCTL_TLS_CHILD="+dir, "XMPPCTL_INTEGRATION=", // no server for the child
		"SSL_CERT_FILE="+filepath.Join(dir, "sys.pem"), "SSL_CERT_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestCAFileFallsBackToSystemRoots") {
		t.Fatalf("child did not run the check:\n%s", out)
	}
}
