package compliance

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// TLSInfo is what the diagnostic probe learned about the server's TLS.
type TLSInfo struct {
	Version  string    `json:"version"`
	Cipher   string    `json:"cipher"`
	NotAfter time.Time `json:"not_after"`
	Direct   bool      `json:"direct_tls"`
}

// Probe opens a short diagnostic connection to addr: TCP, then TLS
// (directly, or after the plaintext stream's <starttls/>), then a stream
// header, and returns the TLS parameters and the raw stream features
// (before TLS, when STARTTLS, and after). It never authenticates. The
// connection is closed before Probe returns.
func Probe(ctx context.Context, addr string, direct bool, cfg *tls.Config, domain string) (*TLSInfo, [][]byte, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("probe %s: %w", addr, err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()
	var feats [][]byte
	var c net.Conn = raw
	if !direct {
		f, err := streamFeatures(raw, domain)
		if err != nil {
			return nil, nil, fmt.Errorf("probe %s: %w", addr, err)
		}
		feats = append(feats, f)
		if !bytes.Contains(f, []byte("urn:ietf:params:xml:ns:xmpp-tls")) {
			return nil, feats, fmt.Errorf("probe %s: server offers no STARTTLS", addr)
		}
		if _, err := io.WriteString(raw, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); err != nil {
			return nil, feats, fmt.Errorf("probe %s: %w", addr, err)
		}
		if err := expectProceed(raw); err != nil {
			return nil, feats, fmt.Errorf("probe %s: %w", addr, err)
		}
	}
	cfg = cfg.Clone()
	if direct {
		cfg.NextProtos = []string{"xmpp-client"} // XEP-0368 ALPN
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, feats, fmt.Errorf("probe %s: tls: %w", addr, err)
	}
	cs := tc.ConnectionState()
	info := &TLSInfo{Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite), Direct: direct}
	if len(cs.PeerCertificates) > 0 {
		info.NotAfter = cs.PeerCertificates[0].NotAfter
	}
	f, err := streamFeatures(tc, domain)
	if err != nil {
		return info, feats, fmt.Errorf("probe %s: %w", addr, err)
	}
	feats = append(feats, f)
	_, _ = io.WriteString(tc, "</stream:stream>")
	return info, feats, nil
}

// streamHeader is the opening tag; built by hand because encoding/xml
// cannot write an unclosed start tag, with the domain escaped.
func streamHeader(domain string) []byte {
	var esc bytes.Buffer
	_ = xml.EscapeText(&esc, []byte(domain))
	return []byte("<?xml version='1.0'?><stream:stream to='" + esc.String() +
		"' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
}

// streamFeatures opens a stream and returns the raw features element.
func streamFeatures(c io.ReadWriter, domain string) ([]byte, error) {
	if _, err := c.Write(streamHeader(domain)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	d := xml.NewDecoder(io.TeeReader(io.LimitReader(c, 1<<20), &buf))
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("read stream features: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case se.Name.Space == "http://etherx.jabber.org/streams" && se.Name.Local == "stream":
			continue
		case se.Name.Space == "http://etherx.jabber.org/streams" && se.Name.Local == "error":
			return nil, errors.New("stream error from server")
		case se.Name.Space == "http://etherx.jabber.org/streams" && se.Name.Local == "features":
			if err := d.Skip(); err != nil {
				return nil, fmt.Errorf("read stream features: %w", err)
			}
			b := buf.Bytes()
			return append([]byte(nil), b[start:d.InputOffset()]...), nil
		default:
			if err := d.Skip(); err != nil {
				return nil, err
			}
		}
	}
}

func expectProceed(c io.Reader) error {
	d := xml.NewDecoder(c)
	// The decoder sees a fragment (no stream root): read one element.
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "proceed" {
				return nil
			}
			return fmt.Errorf("starttls refused (%s)", se.Name.Local)
		}
	}
}
