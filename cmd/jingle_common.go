package cmd

// Shared by jingle-send and jingle-receive: which local addresses become
// direct SOCKS5 candidates, the server's proxy, and the feature list the
// receiving side advertises.

import (
	"context"
	"net"

	"github.com/spf13/pflag"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/si"
	"github.com/xmppctl/xmppctl/pkg/socks5"
)

// p2pOptions are the transport flags both commands share.
type p2pOptions struct {
	Transport      jingle.Method
	CandidateAddrs []string
	Proxy          string
	BlockSize      int
}

func (o *p2pOptions) addFlags(c interface {
	Var(pflag.Value, string, string)
	StringVar(*string, string, string, string)
	StringArrayVar(*[]string, string, []string, string)
	IntVar(*int, string, int, string)
}) {
	o.Transport = jingle.MethodAuto
	c.Var(&o.Transport, "transport", "auto (SOCKS5, falling back to in-band), s5b or ibb")
	c.StringArrayVar(&o.CandidateAddrs, "candidate-addr", nil,
		"offer direct connections on this local IP (repeatable; \"none\" offers none; default: every non-loopback interface that is up)")
	c.StringVar(&o.Proxy, "proxy", "auto", "SOCKS5 proxy to offer: auto (the server's XEP-0065 proxy), none, or a proxy JID")
	c.IntVar(&o.BlockSize, "block-size", ibb.DefaultBlockSize, "in-band block size in bytes (the smaller of both sides' wins)")
}

func (o *p2pOptions) validate() error {
	if _, err := jingle.ParseMethod(string(o.Transport)); err != nil {
		return usageErrorf("invalid --transport %q: want auto, s5b or ibb", o.Transport)
	}
	for _, a := range o.CandidateAddrs {
		if a == "none" {
			continue
		}
		if net.ParseIP(a) == nil {
			return usageErrorf("invalid --candidate-addr %q: want an IP address or none", a)
		}
	}
	if o.BlockSize < 1 || o.BlockSize > ibb.MaxBlockSize {
		return usageErrorf("invalid --block-size %d: want 1 to %d", o.BlockSize, ibb.MaxBlockSize)
	}
	return nil
}

// candidateAddrs returns the local IPs to offer as direct candidates.
func (o *p2pOptions) candidateAddrs() []string {
	if len(o.CandidateAddrs) > 0 {
		var out []string
		for _, a := range o.CandidateAddrs {
			if a != "none" {
				out = append(out, a)
			}
		}
		return out
	}
	return defaultCandidateAddrs()
}

// defaultCandidateAddrs lists the addresses of every interface that is up
// and not loopback, without link-local ones (useless without a zone). A
// host with nothing else (a container talking to a local server) offers
// its loopback addresses.
func defaultCandidateAddrs() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out, loop []string
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipn.IP
			switch {
			case ip.IsLoopback():
				loop = append(loop, ip.String())
			case ip.IsLinkLocalUnicast(), ip.IsMulticast(), ip.IsUnspecified():
			default:
				out = append(out, ip.String())
			}
		}
	}
	if len(out) == 0 {
		return loop
	}
	return out
}

// proxy finds the SOCKS5 proxy to offer; failures only mean no proxy.
func (o *p2pOptions) proxy(ctx context.Context, f *Factory, s conn.Session) *socks5.StreamHost {
	if !o.Transport.AllowsS5B() || o.Proxy == "none" {
		return nil
	}
	pctx, cancel := f.WithTimeout(ctx)
	defer cancel()
	var (
		h   socks5.StreamHost
		err error
	)
	if o.Proxy == "auto" {
		h, err = socks5.Proxy(pctx, s, nil)
	} else {
		h, err = socks5.ProxyAt(pctx, s, o.Proxy)
	}
	if err != nil {
		f.Infof("no SOCKS5 proxy: %v", err)
		return nil
	}
	f.Infof("SOCKS5 proxy %s at %s", h.JID, h.Addr())
	return &h
}

func (o *p2pOptions) jingleOptions(ctx context.Context, f *Factory, s conn.Session) jingle.Options {
	jo := jingle.Options{Transport: o.Transport, BlockSize: o.BlockSize, Timeout: f.Global.Timeout}
	if o.Transport.AllowsS5B() {
		jo.CandidateAddrs = o.candidateAddrs()
		jo.Proxy = o.proxy(ctx, f, s)
	}
	return jo
}

// receiveFeatures are the disco#info features jingle-receive advertises.
func receiveFeatures(legacyOnly bool) []string {
	var feats []string
	if !legacyOnly {
		feats = append(feats, jingle.Features()...)
	}
	feats = append(feats, si.Features()...)
	feats = append(feats, ibb.NS, socks5.NS)
	return append(feats, hashes.Features()...)
}
