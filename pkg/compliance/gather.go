package compliance

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
)

// Options say what to check and with what.
type Options struct {
	Domain    string       // the domain to check
	Session   conn.Session // a logged-in session (of any domain)
	Explicit  bool         // the session connected to a configured server, not via SRV
	TLSConfig *tls.Config  // for the probe: the account's TLS policy, ServerName set to Domain
	Lookup    conn.LookupSRV
	Caps      caps.Store // where verified server capabilities are kept
	Timeout   time.Duration
}

// reserved reports names that RFC 6761 keeps out of the DNS.
func reserved(domain string) bool {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	return d == "localhost" || strings.HasSuffix(d, ".localhost") || d == "invalid" || strings.HasSuffix(d, ".invalid")
}

func lookupSRV(ctx context.Context, o Options) SRV {
	if reserved(o.Domain) {
		return SRV{Note: "reserved name, not looked up in DNS"}
	}
	lookup := o.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupSRV
	}
	var out SRV
	var errs []string
	for _, svc := range []string{"xmpps-client", "xmpp-client"} {
		_, recs, err := lookup(ctx, svc, "tcp", o.Domain)
		var real []*net.SRV
		for _, r := range recs {
			if r.Target != "." {
				real = append(real, r)
			}
		}
		if err != nil {
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				errs = append(errs, "_"+svc+": "+err.Error())
			}
		}
		if svc == "xmpps-client" {
			out.ClientTLS = real
		} else {
			out.Client = real
		}
	}
	out.Note = strings.Join(errs, "; ")
	return out
}

// probeTarget picks the address to probe for a domain we did not log in to.
func probeTarget(domain string, srv SRV) conn.Target {
	if len(srv.ClientTLS) > 0 {
		r := srv.ClientTLS[0]
		return conn.Target{Addr: net.JoinHostPort(strings.TrimSuffix(r.Target, "."), strconv.Itoa(int(r.Port))), DirectTLS: true}
	}
	if len(srv.Client) > 0 {
		r := srv.Client[0]
		return conn.Target{Addr: net.JoinHostPort(strings.TrimSuffix(r.Target, "."), strconv.Itoa(int(r.Port)))}
	}
	return conn.Target{Addr: net.JoinHostPort(domain, "5222")}
}

// Gather collects the facts: login features, a TLS probe, SRV records and
// service discovery of the domain, its services and (for the account's own
// server) the account. Failures become notes in the facts; Gather itself
// fails only when ctx ends.
func Gather(ctx context.Context, o Options) (Facts, error) {
	s := o.Session
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	f := Facts{Domain: o.Domain, Own: strings.EqualFold(o.Domain, s.Domain()), Explicit: o.Explicit}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // SRV and the probe
		defer wg.Done()
		f.SRV = lookupSRV(ctx, o)
		var target conn.Target
		var login [][]byte
		li, ok := s.(conn.LoginInfo)
		if f.Own && ok {
			target = li.Target()
			login = li.StreamFeatures()
			mode := "STARTTLS"
			if target.DirectTLS {
				mode = "direct TLS"
			}
			f.Connected = target.Addr + " " + mode
		} else {
			target = probeTarget(o.Domain, f.SRV)
			f.Explicit = false
		}
		f.Direct = target.DirectTLS
		pctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		info, feats, err := Probe(pctx, target.Addr, target.DirectTLS, o.TLSConfig, o.Domain)
		f.TLS = info
		if err != nil {
			f.TLSErr = err.Error()
		}
		f.Stream = ParseStream(append(login, feats...))
	}()
	go func() { // service discovery
		defer wg.Done()
		dctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		gatherDisco(dctx, o, &f)
	}()
	wg.Wait()
	if f.Stream.Caps != nil || f.Stream.Caps2 != nil {
		f.CapsCheck = checkCaps(ctx, o, &f)
	}
	return f, ctx.Err()
}

func gatherDisco(ctx context.Context, o Options, f *Facts) {
	s := o.Session
	info, err := disco.GetInfo(ctx, s, o.Domain, "")
	if err != nil {
		f.ServerErr = err.Error()
		return
	}
	f.Server = info
	if f.Own {
		bare, _, _ := strings.Cut(s.JID(), "/")
		f.Account, _ = disco.GetInfo(ctx, s, bare, "")
	}
	items, err := disco.GetItems(ctx, s, o.Domain, "")
	if err != nil {
		return
	}
	infos := make([]*disco.Info, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		if it.Node != "" || it.JID == o.Domain {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], _ = disco.GetInfo(ctx, s, it.JID, "")
		}()
	}
	wg.Wait()
	for _, in := range infos {
		if in == nil {
			continue
		}
		f.Services = append(f.Services, in)
		if in.HasIdentity("conference", "text") && in.HasFeature("http://jabber.org/protocol/muc") {
			f.MUCs = append(f.MUCs, in)
		}
	}
}

// checkCaps verifies the server's advertised capabilities against its
// disco#info (through the cache: a verified hash costs no query).
func checkCaps(ctx context.Context, o Options, f *Facts) string {
	if f.Server == nil {
		return ""
	}
	if c := f.Stream.Caps; c != nil && f.Stream.Caps2 == nil {
		if err := c.Verify(f.Server); err != nil {
			return "mismatch: " + err.Error()
		}
		if c.Hash != "" {
			_ = o.Caps.Put(c.Hash, c.Ver, f.Server)
		}
		return "verified"
	}
	r := &caps.Resolver{S: o.Session, Store: o.Caps}
	res, err := r.Lookup(ctx, o.Domain, f.Stream.Caps, f.Stream.Caps2)
	if err != nil {
		return "not verified: " + err.Error()
	}
	if res.Status == caps.Mismatch {
		return "mismatch: " + res.Err.Error()
	}
	return string(res.Status)
}
