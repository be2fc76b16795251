package conn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// The scripted server of the contract tests: just enough XMPP (TLS direct
// or by STARTTLS, SASL PLAIN or SCRAM-SHA-1, bind) for go-xmpp to log in
// over loopback, then a per-test script that writes raw XML and reads the
// client's elements. Nothing here is a server worth reusing: it exists to
// drive the real go-xmpp client into the corners pkg/conn depends on.

const (
	contractDomain = "example.test"
	contractUser   = "alice"
	contractPass   = "secret-pw"
	contractJID    = contractUser + "@" + contractDomain + "/contract"
)

// contractPKI is a CA and a leaf for contractDomain and 127.0.0.1, made
// once per test process.
var contractPKI = sync.OnceValues(func() (*tls.Config, []byte) {
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	caKey, leafKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "contract test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: contractDomain},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{contractDomain},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}},
		MinVersion: tls.VersionTLS12}
	return cfg, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
})

// clientTLS is the client side: verify against the test CA.
func clientTLS(t *testing.T) *tls.Config {
	_, caPEM := contractPKI()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("test CA")
	}
	return &tls.Config{RootCAs: pool, ServerName: contractDomain, MinVersion: tls.VersionTLS12}
}

// caFile writes the test CA for conn.Options.
func caFile(t *testing.T) string {
	_, caPEM := contractPKI()
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serverConfig says how the scripted server logs a client in.
type serverConfig struct {
	startTLS bool     // STARTTLS on a plain connection instead of direct TLS
	mechs    []string // offered SASL mechanisms: PLAIN and/or SCRAM-SHA-1 (default PLAIN)
	features string   // extra post-login stream features (raw XML)
	// sasl2 also offers SASL2 (PLAIN) with Bind2 inline, as Prosody with
	// mod_sasl2_bind2 does; an <authenticate/> is handed to onSASL2 and
	// refused (the scripted server logs in classically only).
	sasl2   bool
	onSASL2 func(stanza.Element)
}

// peer is the server's side of one logged-in connection.
type peer struct {
	t        *testing.T
	raw      net.Conn
	conn     net.Conn // TLS
	dec      *xml.Decoder
	sent     strings.Builder // everything written after TLS, for framing checks
	presence stanza.Element  // go-xmpp's initial presence
	bind     stanza.Element  // the client's classic bind request
}

// write sends raw XML to the client.
func (p *peer) write(s string) {
	p.t.Helper()
	p.sent.WriteString(s)
	if _, err := io.WriteString(p.conn, s); err != nil {
		p.t.Errorf("server write: %v", err)
	}
}

// next reads the client's next top-level element; ok is false at the
// end of its stream or of the connection.
func (p *peer) next() (stanza.Element, bool) {
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return stanza.Element{}, false
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if tk.Name.Local == "stream" {
				continue
			}
			var el stanza.Element
			if err := p.dec.DecodeElement(&el, &tk); err != nil {
				return stanza.Element{}, false
			}
			return el, true
		case xml.EndElement:
			if tk.Name.Local == "stream" {
				return stanza.Element{}, false
			}
		}
	}
}

// expect reads the next element and fails unless it has the local name.
func (p *peer) expect(local string) stanza.Element {
	p.t.Helper()
	el, ok := p.next()
	if !ok || el.XMLName.Local != local {
		p.t.Fatalf("server expected <%s/>, got %v (ok=%v)", local, el.XMLName, ok)
	}
	return el
}

// startServer listens on loopback; each accepted connection is logged in
// and handed to script, which runs in its own goroutine. The returned
// address is host:port.
func startServer(t *testing.T, cfg serverConfig, script func(*peer)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				p := &peer{t: t, raw: c}
				if p.login(cfg) {
					script(p)
				}
			}()
		}
	}()
	return l.Addr().String()
}

const streamHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' ` +
	`id='contract' from='` + contractDomain + `' version='1.0' xml:lang='en'>`

// openStream waits for the client's stream header and answers it.
func (p *peer) openStream(features string) bool {
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			break
		}
	}
	p.write(streamHeader + "<stream:features>" + features + "</stream:features>")
	return true
}

func (p *peer) login(cfg serverConfig) bool {
	srvTLS, _ := contractPKI()
	if cfg.startTLS {
		p.conn = p.raw
		p.dec = xml.NewDecoder(p.raw)
		if !p.openStream(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>`) {
			return false
		}
		if el, ok := p.next(); !ok || el.XMLName.Local != "starttls" {
			return false
		}
		p.write(`<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	}
	tc := tls.Server(p.raw, srvTLS)
	if tc.Handshake() != nil {
		return false
	}
	p.conn = tc
	p.sent.Reset()
	p.dec = xml.NewDecoder(tc)
	mechs := cfg.mechs
	if len(mechs) == 0 {
		mechs = []string{"PLAIN"}
	}
	var offer strings.Builder
	offer.WriteString(`<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>`)
	for _, m := range mechs {
		offer.WriteString("<mechanism>" + m + "</mechanism>")
	}
	offer.WriteString("</mechanisms>")
	if cfg.sasl2 {
		offer.WriteString(`<authentication xmlns='urn:xmpp:sasl:2'><mechanism>PLAIN</mechanism>` +
			`<inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/></inline></bind></inline></authentication>`)
	}
	if !p.openStream(offer.String()) {
		return false
	}
	auth, ok := p.next()
	if ok && auth.XMLName.Local == "authenticate" && cfg.onSASL2 != nil {
		cfg.onSASL2(auth)
		p.write(`<failure xmlns='urn:xmpp:sasl:2'><aborted xmlns='` + saslNS + `'/></failure>`)
		return false
	}
	if !ok || auth.XMLName.Local != "auth" {
		return false
	}
	if !p.authenticate(auth) {
		return false
	}
	if !p.openStream(`<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>` + cfg.features) {
		return false
	}
	bind, ok := p.next()
	if !ok || bind.XMLName.Local != "iq" {
		return false
	}
	p.bind = bind
	p.write(fmt.Sprintf(`<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>%s</jid></bind></iq>`,
		attrOf(bind, "id"), contractJID))
	pres, ok := p.next()
	if !ok {
		return false
	}
	p.presence = pres
	return true
}

const saslNS = "urn:ietf:params:xml:ns:xmpp-sasl"

func (p *peer) fail() bool {
	p.write(`<failure xmlns='` + saslNS + `'><not-authorized/><text xml:lang='en'>bad credentials</text></failure>`)
	return false
}

// authenticate runs PLAIN or SCRAM-SHA-1 (RFC 5802, no channel binding)
// against contractUser/contractPass.
func (p *peer) authenticate(auth stanza.Element) bool {
	initial, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(auth.Inner)))
	if err != nil {
		return p.fail()
	}
	switch attrOf(auth, "mechanism") {
	case "PLAIN":
		if string(initial) != "\x00"+contractUser+"\x00"+contractPass {
			return p.fail()
		}
		p.write(`<success xmlns='` + saslNS + `'/>`)
		return true
	case "SCRAM-SHA-1":
		gs2, bare, ok := strings.Cut(string(initial), ",,")
		if !ok || gs2 != "n" && gs2 != "y" {
			return p.fail()
		}
		cnonce := scramAttr(bare, "r")
		nonce := cnonce + "server-nonce"
		salt := []byte("contract-salt")
		first := fmt.Sprintf("r=%s,s=%s,i=4096", nonce, base64.StdEncoding.EncodeToString(salt))
		p.write(`<challenge xmlns='` + saslNS + `'>` + base64.StdEncoding.EncodeToString([]byte(first)) + `</challenge>`)
		resp, ok := p.next()
		if !ok || resp.XMLName.Local != "response" {
			return false
		}
		final, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(resp.Inner)))
		if err != nil {
			return p.fail()
		}
		without, proofB64, _ := strings.Cut(string(final), ",p=")
		proof, _ := base64.StdEncoding.DecodeString(proofB64)
		salted, _ := pbkdf2.Key(sha1.New, contractPass, salt, 4096, sha1.Size)
		mac := func(key []byte, s string) []byte { h := hmac.New(sha1.New, key); h.Write([]byte(s)); return h.Sum(nil) }
		clientKey := mac(salted, "Client Key")
		stored := sha1.Sum(clientKey)
		authMsg := bare + "," + first + "," + without
		sig := mac(stored[:], authMsg)
		if len(proof) != len(sig) || scramAttr(without, "r") != nonce {
			return p.fail()
		}
		for i := range proof {
			proof[i] ^= sig[i]
		}
		if h := sha1.Sum(proof); !hmac.Equal(h[:], stored[:]) {
			return p.fail()
		}
		v := mac(mac(salted, "Server Key"), authMsg)
		p.write(`<success xmlns='` + saslNS + `'>` + base64.StdEncoding.EncodeToString([]byte("v="+base64.StdEncoding.EncodeToString(v))) + `</success>`)
		return true
	}
	return p.fail()
}

func scramAttr(msg, key string) string {
	for _, kv := range strings.Split(msg, ",") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

func attrOf(el stanza.Element, name string) string {
	for _, a := range el.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// debugLog is a DebugWriter that keeps every write as it came.
type debugLog struct {
	mu     sync.Mutex
	writes []string
}

func (d *debugLog) Write(p []byte) (int, error) {
	d.mu.Lock()
	d.writes = append(d.writes, string(p))
	d.mu.Unlock()
	return len(p), nil
}

func (d *debugLog) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.writes...)
}

// goxmppOptions are the options pkg/conn's dial uses, minus what it
// derives from the account, for a client of the scripted server.
func goxmppOptions(t *testing.T, addr string, startTLS bool, w io.Writer) xmpp.Options {
	return xmpp.Options{Host: addr, User: contractUser + "@" + contractDomain, Password: contractPass,
		DialTimeout: 10 * time.Second, Resource: "contract", TLSConfig: clientTLS(t), NoTLS: startTLS, StartTLS: startTLS,
		Mechanism: "PLAIN", Debug: w != nil, DebugWriter: w, UserAgentSW: "xmppctl"}
}

// dialGoXMPP logs the real go-xmpp client in to the scripted server.
func dialGoXMPP(t *testing.T, o xmpp.Options) *xmpp.Client {
	t.Helper()
	c, err := o.NewClient()
	if err != nil {
		t.Fatalf("go-xmpp login to the scripted server: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
