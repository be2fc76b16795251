package conn

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/internal/stack"
)

// The login relay: the one login path on which go-xmpp v0.4.1 cannot keep
// the account's resource is SASL2 with Bind2 and the PLAIN mechanism (its
// SASL2 PLAIN branch sends <authenticate> without <user-agent>, so the
// server's Bind2 makes up a new resource every time; see doc.go). For that
// case only, go-xmpp talks direct TLS to a one-shot loopback listener of
// ours, and the relay talks to the real server with the real TLS policy,
// forwarding bytes both ways. It changes one thing: from the first
// <stream:features> after TLS it removes the SASL2 <authentication>
// offer, so that go-xmpp logs in as to a server without SASL2, classic
// SASL PLAIN and classic bind of the stored resource.
//
// What keeps it from weakening anything:
//   - The server's certificate is verified by the relay with exactly the
//     tls.Config go-xmpp would have used (TLSPolicy.Config; for direct TLS
//     also go-xmpp's extra host-name check), STARTTLS or direct TLS as the
//     target says; nothing is sent before that handshake succeeds.
//   - The loopback leg is TLS 1.3 with an ephemeral certificate, made for
//     this login, that only this go-xmpp client's tls.Config trusts, and
//     the relay requires a client certificate, also ephemeral, that only
//     that client holds: no other local process can use or read the relay.
//     The listener closes after the first connection that presents it.
//   - Channel binding cannot pass through it (the client's TLS session is
//     not the server's), so it is used only for PLAIN, which has none.
//
// Everything is streamed: only the stream header and that first features
// element are held back (at most relayHold bytes), then bytes pass as they
// come. Closing either side closes the other.

// relayHold bounds what the relay holds back while it looks for the first
// features element; past it, the stream passes unchanged.
const relayHold = 64 << 10

const (
	nsSASL2    = "urn:xmpp:sasl:2"
	nsBind2    = "urn:xmpp:bind:0"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsStartTLS = "urn:ietf:params:xml:ns:xmpp-tls"
	nsStream   = "http://etherx.jabber.org/streams"
)

type relay struct {
	ln        net.Listener
	clientTLS *tls.Config // go-xmpp's side: trusts our server certificate, presents the client one
	serverTLS *tls.Config
	up        *tls.Conn    // to the server
	upTCP     *net.TCPConn // under up
	ack       func()       // quick ACKs on upTCP (quickack.go); may be nil
	timeout   time.Duration
	note      func(string) // tells --debug-xml what the relay changed; may be nil

	mu        sync.Mutex
	down      net.Conn // go-xmpp's connection, once accepted
	closed    bool
	capture   *tap // the features as the server sent them, for LoginInfo
	capturing bool
	sawBind2  bool // the server offered SASL2 with Bind2
	hidden    bool // and the relay hid it

	// After login the session reads the server itself (stopReads).
	handoff   bool          // asked for
	handedOff bool          // toClient stopped for it
	stopped   chan struct{} // closed when toClient has returned

	// And writes to it itself (stopWrites).
	whandoff   bool          // asked for
	wHandedOff bool          // toServer forwarded everything and stopped
	wstopped   chan struct{} // closed when toServer has returned
}

// startRelay connects to the server with the real TLS policy and opens the
// loopback listener for go-xmpp.
func startRelay(ctx context.Context, tg Target, tlsConf *tls.Config, domain string, timeout time.Duration, note func(string)) (*relay, error) {
	r := &relay{capture: newTap(nil), capturing: true, timeout: timeout, note: note,
		stopped: make(chan struct{}), wstopped: make(chan struct{})}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", tg.Addr)
	if err != nil {
		return nil, err
	}
	r.upTCP, _ = nc.(*net.TCPConn)
	if timeout > 0 {
		_ = nc.SetDeadline(time.Now().Add(timeout))
	}
	if !tg.DirectTLS {
		if err := r.startTLS(nc, domain); err != nil {
			nc.Close()
			return nil, err
		}
	}
	cfg := tlsConf.Clone()
	up := tls.Client(nc, cfg)
	if err := up.HandshakeContext(ctx); err != nil {
		nc.Close()
		if !tg.DirectTLS {
			return nil, fmt.Errorf("starttls handshake: %w", err)
		}
		return nil, err
	}
	if tg.DirectTLS && !cfg.InsecureSkipVerify {
		// go-xmpp's own extra check after a direct TLS handshake.
		if err := up.VerifyHostname(cfg.ServerName); err != nil {
			nc.Close()
			return nil, err
		}
	}
	_ = nc.SetDeadline(time.Time{})
	r.up = up
	r.ack = quickAck(r.upTCP)
	if err := r.listen(domain); err != nil {
		up.Close()
		return nil, err
	}
	go r.accept()
	return r, nil
}

// captureWriter feeds the relay's features capture.
type captureWriter struct{ r *relay }

func (w captureWriter) Write(p []byte) (int, error) {
	w.r.captureChunk(p)
	return len(p), nil
}

func (r *relay) captureChunk(p []byte) {
	r.mu.Lock()
	on := r.capturing
	r.mu.Unlock()
	if !on {
		return
	}
	r.capture.mu.Lock()
	r.capture.captureFeatures(p)
	r.capture.mu.Unlock()
}

// startTLS negotiates STARTTLS (RFC 6120 5.4) on the plain connection.
func (r *relay) startTLS(nc net.Conn, domain string) error {
	enc := xml.NewEncoder(nc)
	if err := enc.EncodeToken(xml.ProcInst{Target: "xml", Inst: []byte("version='1.0'")}); err != nil {
		return err
	}
	if err := enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: "stream:stream"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "to"}, Value: domain},
		{Name: xml.Name{Local: "xmlns"}, Value: "jabber:client"},
		{Name: xml.Name{Local: "xmlns:stream"}, Value: nsStream},
		{Name: xml.Name{Local: "version"}, Value: "1.0"},
	}}); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	// The server sends nothing after its features until we ask, nor after
	// <proceed/> until our TLS hello: the decoder's read-ahead takes no
	// TLS bytes.
	dec := xml.NewDecoder(io.TeeReader(nc, captureWriter{r}))
	next := func() (xml.StartElement, error) {
		for {
			tok, err := dec.Token()
			if err != nil {
				return xml.StartElement{}, err
			}
			if se, ok := tok.(xml.StartElement); ok {
				return se, nil
			}
		}
	}
	se, err := next()
	if err != nil {
		return fmt.Errorf("read stream header: %w", err)
	}
	if se.Name.Space != nsStream || se.Name.Local != "stream" {
		return fmt.Errorf("expected <stream>, got <%s>", se.Name.Local)
	}
	if se, err = next(); err != nil {
		return fmt.Errorf("read stream features: %w", err)
	}
	if se.Name.Space != nsStream || se.Name.Local != "features" {
		return fmt.Errorf("expected stream features, got <%s>", se.Name.Local)
	}
	var feats struct {
		StartTLS *struct{} `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
	}
	if err := dec.DecodeElement(&feats, &se); err != nil {
		return fmt.Errorf("read stream features: %w", err)
	}
	if feats.StartTLS == nil {
		return errors.New("StartTLS is required but the server doesn't support it")
	}
	if err := enc.Encode(struct {
		XMLName xml.Name `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
	}{}); err != nil {
		return err
	}
	if se, err = next(); err != nil {
		return fmt.Errorf("read <proceed>: %w", err)
	}
	if se.Name.Space != nsStartTLS || se.Name.Local != "proceed" {
		return fmt.Errorf("starttls refused: <%s>", se.Name.Local)
	}
	return nil
}

// listen opens the one-shot loopback listener and makes the ephemeral
// certificate both ends present.
func (r *relay) listen(domain string) error {
	// One certificate serves both ends: the relay presents it and requires
	// the client to present it too, so one key and one signature per login.
	cert, x, err := ephemeralCert(domain)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(x)
	// X25519 alone: the hybrid post-quantum exchange protects nothing on a
	// loopback hop inside this process and costs a key generation per side.
	curves := []tls.CurveID{tls.X25519}
	r.clientTLS = &tls.Config{ServerName: domain, RootCAs: pool, Certificates: []tls.Certificate{cert},
		MinVersion: tls.VersionTLS13, CurvePreferences: curves}
	r.serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: pool, MinVersion: tls.VersionTLS13, CurvePreferences: curves}
	r.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.ln, err = net.Listen("tcp", "[::1]:0")
	}
	return err
}

// ephemeralCert makes a self-signed ECDSA P-256 certificate for name, valid
// for an hour around now; it is trusted as its own root by one peer only.
func ephemeralCert(name string) (tls.Certificate, *x509.Certificate, error) {
	// P-256: its base point table is compiled in, where Ed25519 computes
	// its own on first use.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, BasicConstraintsValid: true}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	x, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: x}, x, nil
}

// addr is where go-xmpp connects.
func (r *relay) addr() string { return r.ln.Addr().String() }

// accept takes the first connection that completes the TLS handshake with
// the client certificate, closes the listener and starts forwarding. Each
// handshake runs on its own, so a local process that connects and stalls
// cannot hold the real client up.
func (r *relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			r.mu.Lock()
			taken := r.down != nil
			r.mu.Unlock()
			if !taken {
				r.close()
			}
			return
		}
		go r.handshake(c)
	}
}

func (r *relay) handshake(c net.Conn) {
	stack.Reserve16K() // a TLS server handshake
	tc := tls.Server(c, r.serverTLS)
	if r.timeout > 0 {
		_ = c.SetDeadline(time.Now().Add(r.timeout))
	}
	if err := tc.Handshake(); err != nil {
		c.Close() // not our client
		return
	}
	_ = c.SetDeadline(time.Time{})
	r.mu.Lock()
	if r.closed || r.down != nil {
		r.mu.Unlock()
		tc.Close()
		return
	}
	r.down = tc
	r.mu.Unlock()
	r.ln.Close()
	go r.toServer(tc)
	go r.toClient(tc)
}

// toServer forwards what go-xmpp writes, until go-xmpp's side ends: the
// end of the session, or the session taking the writes over (stopWrites).
func (r *relay) toServer(down net.Conn) {
	stack.Reserve8K() // TLS reads and writes
	defer close(r.wstopped)
	buf := make([]byte, 32<<10)
	_, err := io.CopyBuffer(r.up, down, buf)
	r.mu.Lock()
	// io.Copy returns nil at EOF: go-xmpp's side closed for writing after
	// its last byte, which has been written to the server.
	handed := err == nil && r.whandoff && !r.closed
	r.wHandedOff = handed
	r.mu.Unlock()
	if !handed {
		r.close()
	}
}

// toClient forwards what the server writes, hiding the SASL2 offer from
// the first features element after TLS.
func (r *relay) toClient(down net.Conn) {
	stack.Reserve8K() // TLS reads and writes, the features filter's decoder
	defer close(r.stopped)
	handed := false
	defer func() {
		if !handed {
			r.close()
		}
	}()
	buf := make([]byte, 32<<10)
	var held []byte
	filtering := true
	for {
		n, err := r.up.Read(buf)
		if n > 0 {
			if r.ack != nil {
				r.ack()
			}
			chunk := buf[:n]
			r.captureChunk(chunk)
			if filtering {
				held = append(held, chunk...)
				out, done, bind2, hid := hideSASL2(held)
				if !done && len(held) <= relayHold {
					continue
				}
				if !done {
					out = held
				}
				r.mu.Lock()
				r.sawBind2, r.hidden = bind2, hid
				r.mu.Unlock()
				if hid && r.note != nil {
					r.note("NOTE the login relay hides the server's SASL2 offer in the next features from go-xmpp, " +
						"which then binds the stored resource classically (pkg/conn relay.go)\n")
				}
				chunk, held, filtering = out, nil, false
			}
			if _, werr := down.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			if handed = r.handingOff(err, down); handed {
				return
			}
			if len(held) > 0 {
				_, _ = down.Write(held) // a stream error before the features
			}
			return
		}
	}
}

// After login the relay stops forwarding what the server writes, and the
// session reads it itself (handoff.go): every byte of a long archive sync
// went through a second TLS session and the loopback socket, and through
// one more goroutine (issue 16). stopReads interrupts toClient's read of
// the server (a deadline in the past: a timeout leaves a TLS connection
// usable), and toClient closes go-xmpp's side for writing once everything
// it read is forwarded: go-xmpp's connection then ends with EOF after the
// last byte forwarded, and the session goes on with serverReader, from the
// very next byte. Its writes are taken over likewise (stopWrites).
func (r *relay) stopReads() {
	r.mu.Lock()
	r.handoff = true
	r.mu.Unlock()
	_ = r.up.SetReadDeadline(pastDeadline)
}

var pastDeadline = time.Unix(1, 0)

// handingOff reports whether err is stopReads' interruption, and if so
// closes go-xmpp's side for writing.
func (r *relay) handingOff(err error, down net.Conn) bool {
	var ne net.Error
	r.mu.Lock()
	asked := r.handoff && !r.closed
	r.mu.Unlock()
	if !asked || !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	tc, ok := down.(*tls.Conn)
	if !ok || tc.CloseWrite() != nil {
		return false
	}
	r.mu.Lock()
	r.handedOff = true
	r.mu.Unlock()
	return true
}

// stopWrites takes the writes over in the same way, for send --lines,
// whose every line went through a second TLS session and the loopback
// socket (issue 16): it closes down (go-xmpp's connection to the relay)
// for writing, so that toServer forwards what go-xmpp wrote until then and
// stops at the close_notify; the session then writes to the server's
// connection itself, after the last byte go-xmpp wrote, and nothing more
// of go-xmpp's can reach the server. The caller holds the session's write
// lock and owns the relay's end (close) from then on.
func (r *relay) stopWrites(ctx context.Context, down net.Conn) (net.Conn, error) {
	tc, ok := down.(*tls.Conn)
	if !ok {
		return nil, errors.New("login relay: go-xmpp's connection is not TLS")
	}
	r.mu.Lock()
	r.whandoff = true
	r.mu.Unlock()
	if err := tc.CloseWrite(); err != nil {
		r.close()
		return nil, err
	}
	select {
	case <-r.wstopped:
	case <-ctx.Done():
		r.close() // the server does not take what go-xmpp wrote
		return nil, ctx.Err()
	}
	r.mu.Lock()
	ok = r.wHandedOff && !r.closed
	r.mu.Unlock()
	if !ok {
		return nil, errors.New("login relay: the connection ended before the session took it over")
	}
	return r.up, nil
}

// serverReader reads the server's connection once toClient has handed it
// over; if toClient ended otherwise (the connection is gone), it reads
// nothing.
type serverReader struct {
	r     *relay
	ready bool
}

func (u *serverReader) Read(p []byte) (int, error) {
	if !u.ready {
		<-u.r.stopped
		u.r.mu.Lock()
		ok := u.r.handedOff && !u.r.closed
		u.r.mu.Unlock()
		if !ok {
			return 0, io.EOF
		}
		_ = u.r.up.SetReadDeadline(time.Time{})
		u.ready = true
	}
	n, err := u.r.up.Read(p)
	if n > 0 && u.r.ack != nil {
		u.r.ack()
	}
	return n, err
}

// close ends both sides and the listener; idempotent.
func (r *relay) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	down := r.down
	r.mu.Unlock()
	r.ln.Close()
	if down != nil {
		down.Close()
	}
	r.up.Close()
}

// endLogin stops the features capture and returns what the server sent
// during login (for LoginInfo: go-xmpp saw the filtered copy) and whether
// it offered SASL2 with Bind2.
func (r *relay) endLogin() (features [][]byte, bind2 bool) {
	r.mu.Lock()
	r.capturing = false
	bind2 = r.sawBind2
	r.mu.Unlock()
	return r.capture.streamFeatures(), bind2
}

var (
	featOpen  = []byte("<stream:features")
	featClose = []byte("</stream:features>")
)

// hideSASL2 looks in held (the start of the stream after TLS) for the
// first features element. done is false until it is complete. When it
// offers SASL2 with Bind2 and, classically, PLAIN, out is held without the
// SASL2 <authentication> element (hid); otherwise out is held unchanged
// (a server offering SASL2 only keeps it: go-xmpp would find nothing to
// log in with).
func hideSASL2(held []byte) (out []byte, done, bind2, hid bool) {
	i := bytes.Index(held, featOpen)
	if i < 0 {
		return nil, false, false, false
	}
	gt := bytes.IndexByte(held[i:], '>')
	if gt < 0 {
		return nil, false, false, false
	}
	end := i + gt + 1
	if held[end-2] != '/' {
		k := bytes.Index(held[i:], featClose)
		if k < 0 {
			return nil, false, false, false
		}
		end = i + k + len(featClose)
	}
	start, stop, bind2, plain := sasl2Span(held[i:end])
	if start < 0 || !bind2 || !plain {
		return held, true, bind2, false
	}
	out = make([]byte, 0, len(held))
	out = append(out, held[:i+start]...)
	out = append(out, held[i+stop:]...)
	return out, true, true, true
}

// sasl2Span finds, in one features element, the byte span of the SASL2
// <authentication> child (start -1 when none), whether it offers Bind2
// inline, and whether the classic <mechanisms> include PLAIN.
func sasl2Span(feats []byte) (start, stop int, bind2, plain bool) {
	start = -1
	dec := xml.NewDecoder(bytes.NewReader(feats))
	depth := 0
	for {
		off := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return start, stop, bind2, plain
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth != 1 {
				depth++
				continue
			}
			switch {
			case t.Name.Space == nsSASL2 && t.Name.Local == "authentication":
				var a struct {
					Inline struct {
						Bind *struct{} `xml:"urn:xmpp:bind:0 bind"`
					} `xml:"inline"`
				}
				if dec.DecodeElement(&a, &t) != nil {
					return -1, 0, false, false
				}
				start, stop, bind2 = off, int(dec.InputOffset()), a.Inline.Bind != nil
			case t.Name.Space == nsSASL && t.Name.Local == "mechanisms":
				var m struct {
					Mechanism []string `xml:"mechanism"`
				}
				if dec.DecodeElement(&m, &t) != nil {
					return -1, 0, false, false
				}
				for _, x := range m.Mechanism {
					if strings.TrimSpace(x) == "PLAIN" {
						plain = true
					}
				}
			default:
				if dec.Skip() != nil {
					return -1, 0, false, false
				}
			}
		case xml.EndElement:
			depth--
		}
	}
}

// offersSASL2Bind2 reports whether one of the features elements offers
// SASL2 with Bind2 inline.
func offersSASL2Bind2(features [][]byte) bool {
	for _, f := range features {
		if start, _, bind2, _ := sasl2Span(f); start >= 0 && bind2 {
			return true
		}
	}
	return false
}

// relayWanted decides, before a PLAIN login, whether it goes through the
// relay: when the server offers SASL2 with Bind2. What this login already
// saw (an earlier mechanism failed) decides; else what an earlier login
// remembered in mem; else the relay, which passes the stream unchanged
// where there is nothing to hide (it costs a loopback TLS handshake).
func relayWanted(mem mechMemory, key string, t *tap) bool {
	if os.Getenv("HTTP_PROXY") != "" || os.Getenv("http_proxy") != "" {
		// go-xmpp sends the connection through that proxy; the relay
		// would not (and go-xmpp would send the loopback leg there).
		return false
	}
	if feats := t.streamFeatures(); len(feats) > 0 {
		return offersSASL2Bind2(feats)
	}
	return mem.get(key) != "no"
}

// rememberRelay records, after a PLAIN login, whether the server offered
// SASL2 with Bind2, so that the next login knows whether it needs the relay.
func rememberRelay(mem mechMemory, key string, t *tap, r *relay) {
	var bind2 bool
	if r != nil {
		bind2 = r.bind2()
	} else {
		bind2 = offersSASL2Bind2(t.streamFeatures())
	}
	if bind2 {
		mem.put(key, "yes")
	} else {
		mem.put(key, "no")
	}
}

func (r *relay) bind2() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sawBind2
}

// debugNote writes a line of our own to the --debug-xml copy, if any.
func (t *tap) debugNote(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.out != nil {
		if _, err := io.WriteString(t.out, line); err != nil {
			t.out = nil
		}
	}
}
