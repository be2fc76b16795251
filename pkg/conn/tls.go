package conn

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TLSPolicy says how the server's certificate is checked.
type TLSPolicy struct {
	CAFile   string // extra PEM roots, added to the system's
	Pin      string // "sha256:<hex>" of the leaf's SPKI or whole certificate
	Insecure bool   // skip verification entirely (explicit user request only)
}

// ParsePin decodes a "sha256:<hex>" pin (colons in the hex allowed).
func ParsePin(pin string) ([]byte, error) {
	h, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(pin)), "sha256:")
	if !ok {
		return nil, fmt.Errorf("invalid pin %q: want sha256:<hex>", pin)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("invalid pin %q: want sha256: followed by 64 hex digits", pin)
	}
	return b, nil
}

// PinOf returns the pin strings (SPKI and certificate) of a certificate,
// so the user can copy one into the config.
func PinOf(cert *x509.Certificate) (spki, whole string) {
	s := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	w := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(s[:]), "sha256:" + hex.EncodeToString(w[:])
}

// Config builds the tls.Config for a server whose name must be serverName
// (the JID's domain, RFC 6125, not the SRV target).
func (p TLSPolicy) Config(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		own := x509.NewCertPool()
		if !own.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", p.CAFile)
		}
		// The CA file is added to the system roots, but the system pool is
		// loaded only when the CA file alone does not verify the server:
		// parsing it costs a one-shot command about 2 MB of heap and 10-18 ms
		// (Go reads Debian's bundle and /etc/ssl/certs), which is most of its
		// memory when the server's CA is the user's own.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyEither(cs, own)
		}
	}
	switch {
	case p.Pin != "":
		want, err := ParsePin(p.Pin)
		if err != nil {
			return nil, err
		}
		// The pin replaces chain verification: a self-signed server is
		// trusted exactly when its key (or certificate) is the pinned one.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			s := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
			w := sha256.Sum256(leaf.Raw)
			if subtle.ConstantTimeCompare(s[:], want) == 1 || subtle.ConstantTimeCompare(w[:], want) == 1 {
				return nil
			}
			spki, _ := PinOf(leaf)
			return &PinError{Got: spki}
		}
	case p.Insecure:
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = nil
	}
	return cfg, nil
}

// verifyEither verifies the server's chain as crypto/tls would (server
// name, ExtKeyUsageServerAuth, validity), first against own and, when that
// finds no trusted root, against the system roots. Errors keep the types
// crypto/tls returns so that callers classify them the same way.
func verifyEither(cs tls.ConnectionState, own *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: cs.ServerName, Intermediates: inter, Roots: own}
	_, err := cs.PeerCertificates[0].Verify(opts)
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		opts.Roots = nil // the system pool, loaded on first use
		_, err = cs.PeerCertificates[0].Verify(opts)
	}
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// PinError reports a certificate that does not match the configured pin.
type PinError struct{ Got string }

func (e *PinError) Error() string {
	return "certificate does not match the pinned fingerprint (server key is " + e.Got + ")"
}
