package conn

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Target is one address to try for a client connection.
type Target struct {
	Addr      string // host:port
	DirectTLS bool   // XEP-0368 direct TLS; otherwise STARTTLS
}

// LookupSRV is the signature of net.Resolver.LookupSRV, injectable for tests.
type LookupSRV func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)

// Resolve returns the targets to try for domain, in order. An explicit
// server ("host:port") skips SRV; tlsMode is "direct", "starttls" or ""
// (for an explicit server: direct TLS when the port is 5223 or 443, else
// STARTTLS). Without a server both SRV services are looked up and merged
// by priority and weight (XEP-0368 §3), falling back to domain:5222.
func Resolve(ctx context.Context, domain, server, tlsMode string, lookup LookupSRV) ([]Target, error) {
	switch tlsMode {
	case "", "direct", "starttls":
	default:
		return nil, fmt.Errorf("invalid tls mode %q (want direct or starttls)", tlsMode)
	}
	if server != "" {
		host, port, err := net.SplitHostPort(server)
		if err != nil {
			// A bare host means the default STARTTLS port.
			host, port = server, "5222"
			if tlsMode == "direct" {
				port = "5223"
			}
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil || host == "" {
			return nil, fmt.Errorf("invalid server address %q", server)
		}
		direct := tlsMode == "direct" || (tlsMode == "" && (port == "5223" || port == "443"))
		return []Target{{Addr: net.JoinHostPort(host, port), DirectTLS: direct}}, nil
	}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupSRV
	}
	type rec struct {
		srv    *net.SRV
		direct bool
	}
	var recs []rec
	for _, svc := range []struct {
		name   string
		direct bool
	}{{"xmpps-client", true}, {"xmpp-client", false}} {
		if tlsMode == "direct" && !svc.direct || tlsMode == "starttls" && svc.direct {
			continue
		}
		_, addrs, err := lookup(ctx, svc.name, "tcp", domain)
		if err != nil {
			continue // NXDOMAIN and friends: fall back below
		}
		for _, a := range addrs {
			if a.Target == "." { // RFC 2782: service decidedly not available
				continue
			}
			recs = append(recs, rec{a, svc.direct})
		}
	}
	// Priority ascending; within a priority, heavier weight first and direct
	// TLS before STARTTLS (it saves a round trip and is never downgraded).
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if a.srv.Priority != b.srv.Priority {
			return a.srv.Priority < b.srv.Priority
		}
		if a.srv.Weight != b.srv.Weight {
			return a.srv.Weight > b.srv.Weight
		}
		return a.direct && !b.direct
	})
	var out []Target
	for _, r := range recs {
		host := strings.TrimSuffix(r.srv.Target, ".")
		out = append(out, Target{Addr: net.JoinHostPort(host, strconv.Itoa(int(r.srv.Port))), DirectTLS: r.direct})
	}
	if len(out) == 0 {
		if tlsMode == "direct" {
			out = append(out, Target{Addr: net.JoinHostPort(domain, "5223"), DirectTLS: true})
		} else {
			out = append(out, Target{Addr: net.JoinHostPort(domain, "5222")})
		}
	}
	return out, nil
}
