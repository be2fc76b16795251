package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/internal/stack"
)

// Why the connection package chooses the SASL mechanism: go-xmpp's own
// choice (the strongest offered) fails against Prosody 0.12 (SCRAM with the
// "y" channel-binding flag is rejected) and ejabberd 23.01 (every -PLUS
// variant is rejected: "Invalid channel binding"), see doc.go. So we try
// the offered mechanisms from strongest to weakest, moving on only when a
// failure is about the mechanism (channel binding, malformed exchange), and
// remember per server what worked so that later runs log in once. A
// credentials failure stops at once: it must end as "authentication failed".
var mechOrder = []string{
	"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
	"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN",
}

// ladder returns the mechanisms worth trying, strongest first, that the
// server offers and that have not been tried yet.
func ladder(offered []string, cbOffered bool, tried map[string]bool) []string {
	var out []string
	for _, m := range mechOrder {
		if tried[m] || !contains(offered, m) {
			continue
		}
		if strings.HasSuffix(m, "-PLUS") && !cbOffered {
			continue // XEP-0440 rule 4: no binding types, no -PLUS
		}
		out = append(out, m)
	}
	return out
}

// goxmppChoice is the mechanism go-xmpp picks itself over TLS: the first
// of mechOrder the server offers, -PLUS included whether or not the server
// announced channel-binding types (ejabberd 23.01 offers SCRAM-*-PLUS
// without XEP-0440 and refuses go-xmpp's binding: "Invalid channel
// binding"). Marking that one as tried, and not the ladder's first, makes
// the next attempt the strongest plain SCRAM instead of skipping it.
func goxmppChoice(offered []string) string {
	for _, m := range mechOrder {
		if contains(offered, m) {
			return m
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mechanismProblem reports whether a login error is about the mechanism
// exchange (try the next one) rather than the credentials.
func mechanismProblem(err error) bool {
	s := strings.ToLower(err.Error())
	for _, k := range []string{"channel binding", "channel-binding", "malformed", "unexpected attribute",
		"no viable authentication", "invalid-mechanism", "mechanism-too-weak", "unsupported auth mechanism",
		"no keying material", "gs2"} {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

type attempt struct {
	target   Target
	tlsConf  *tls.Config
	user     string
	password string
	mech     string // "" lets go-xmpp choose
	ident    Identity
	tap      *tap
	timeout  time.Duration
	fast     fastToken // XEP-0484 token from an earlier login, if any
	relay    bool      // through the login relay (relay.go)
}

// dial runs one go-xmpp login. go-xmpp has no context support: the login
// runs in a goroutine and is abandoned (its client closed when it finishes)
// if ctx ends first.
func dial(ctx context.Context, a attempt) (*xmpp.Client, *relay, error) {
	opts := xmpp.Options{
		Host:        a.target.Addr,
		User:        a.user,
		Password:    a.password,
		DialTimeout: a.timeout,
		Resource:    a.ident.Resource,
		TLSConfig:   a.tlsConf.Clone(),
		NoTLS:       !a.target.DirectTLS,
		StartTLS:    !a.target.DirectTLS,
		Mechanism:   a.mech,
		SSDP:        true,
		UserAgentSW: "xmppctl",
		UserAgentID: a.ident.UserAgentID,
		Debug:       true,
		DebugWriter: a.tap,
		// FAST (XEP-0484) is used where the server offers it inline in
		// SASL2; go-xmpp then asks for a token, which we keep for the next
		// login. Prosody 0.12 does not offer it (mod_sasl2_fast crashes).
		Fast:          true,
		FastToken:     a.fast.Token,
		FastMechanism: a.fast.Mechanism,
	}
	if _, port, err := net.SplitHostPort(a.target.Addr); err == nil {
		n, _ := strconv.Atoi(port)
		a.tap.expectSocket(n)
	}
	var r *relay
	if a.relay {
		_, domain, _ := strings.Cut(a.user, "@")
		var err error
		if r, err = startRelay(ctx, a.target, a.tlsConf, domain, a.timeout, a.tap.debugNote); err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, classify(a.target.Addr, err)
		}
		opts.Host, opts.NoTLS, opts.StartTLS, opts.TLSConfig = r.addr(), false, false, r.clientTLS
	}
	type res struct {
		c   *xmpp.Client
		err error
	}
	ch := make(chan res, 1)
	go func() {
		stack.Reserve32K() // TLS, key exchange and XML
		c, err := opts.NewClient()
		ch <- res{c, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			if r != nil {
				r.close()
			}
			return nil, nil, classify(a.target.Addr, res.err)
		}
		return res.c, r, nil
	case <-ctx.Done():
		if r != nil {
			r.close() // go-xmpp's login fails at once
		}
		go func() {
			if res := <-ch; res.c != nil {
				res.c.Close()
			}
		}()
		return nil, nil, ctx.Err()
	}
}

// classify turns go-xmpp's login errors (mostly plain strings) into the
// package's typed errors.
func classify(addr string, err error) error {
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		inval   x509.CertificateInvalidError
		verr    *tls.CertificateVerificationError
		pinErr  *PinError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &pinErr):
		return &ConnectError{Addr: addr, TLS: true, Err: err}
	case errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &inval), errors.As(err, &verr),
		strings.Contains(msg, "x509:"):
		// Only these may get the "certificate is not trusted" hint: a
		// connection cut during the handshake is a TLS failure too.
		return &ConnectError{Addr: addr, TLS: true, Cert: true, Err: err}
	case errors.As(err, &recErr), errors.As(err, &alert),
		strings.HasPrefix(msg, "starttls handshake"), strings.Contains(msg, "tls:"):
		return &ConnectError{Addr: addr, TLS: true, Err: err}
	case errors.As(err, &dnsErr), errors.As(err, &opErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ConnectError{Addr: addr, Err: err}
	case strings.HasPrefix(msg, "auth failure"), strings.HasPrefix(msg, "no viable authentication"),
		strings.HasPrefix(msg, "SCRAM"), strings.Contains(msg, "channel-binding"), strings.Contains(msg, "channel binding"):
		return &AuthError{Reason: strings.TrimPrefix(msg, "auth failure: ")}
	}
	return &ConnectError{Addr: addr, Err: err}
}

// login tries the targets in order and, on each, the mechanism ladder.
// The relay is non-nil when the session runs through it.
func login(ctx context.Context, o Options, targets []Target, ident Identity, t *tap) (*xmpp.Client, Target, *relay, error) {
	var lastErr error
	mem, b2 := mechMemory{}, mechMemory{} // b2: does the server offer SASL2 with Bind2 (relay.go)
	fast := fastStore{}
	if o.DataDir != "" {
		mem.path = o.DataDir + "/sasl-mechanisms.json"
		b2.path = o.DataDir + "/sasl2-bind2.json"
		fast.path = o.DataDir + "/fast-tokens.json"
	}
	for _, tg := range targets {
		tlsConf, err := o.TLS.Config(o.domain)
		if err != nil {
			return nil, tg, nil, err
		}
		key := tg.Addr + " " + o.domain
		tried := map[string]bool{}
		mech := mem.get(key)
		tok := fast.get(o.bare)
		for {
			viaRelay := mech == "PLAIN" && tok.Token == "" && relayWanted(b2, key, t)
			c, r, err := dial(ctx, attempt{tg, tlsConf, o.bare, o.Password, mech, ident, t, o.DialTimeout, tok, viaRelay})
			if err == nil {
				if mech == "" {
					mech = c.Mechanism
				}
				if offered, _ := t.offered(); mech == "" && goxmppChoice(offered) == "PLAIN" {
					// go-xmpp names only SCRAM mechanisms; remembering
					// PLAIN lets the next login use the relay if needed.
					mech = "PLAIN"
				}
				if mech != "" && !strings.HasPrefix(mech, "HT-") {
					mem.put(key, mech)
				}
				if c.Fast.Token != "" && c.Fast.Token != tok.Token {
					fast.put(o.bare, fastToken{c.Fast.Token, c.Fast.Mechanism, c.Fast.Expiry})
				}
				if mech == "PLAIN" {
					rememberRelay(b2, key, t, r)
				}
				return c, tg, r, nil
			}
			var fae *AuthError
			if tok.Token != "" && errors.As(err, &fae) {
				// A stale or revoked token: forget it, use the password.
				fast.drop(o.bare)
				tok = fastToken{}
				continue
			}
			if ctx.Err() != nil {
				return nil, tg, nil, err
			}
			lastErr = err
			var ae *AuthError
			if !errors.As(err, &ae) {
				break // connection or TLS problem: next target
			}
			if !mechanismProblem(err) {
				return nil, tg, nil, err // wrong credentials: stop here
			}
			tried[mech] = true
			offered, cb := t.offered()
			if mech == "" {
				tried[goxmppChoice(offered)] = true
			}
			next := ladder(offered, cb, tried)
			if len(next) == 0 {
				return nil, tg, nil, err
			}
			mech = next[0]
		}
	}
	return nil, Target{}, nil, lastErr
}
