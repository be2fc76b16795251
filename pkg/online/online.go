package online

import (
	"context"
	"encoding/xml"
	"runtime"
	"sort"
	"time"

	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Namespaces answered here.
const (
	NSTime    = "urn:xmpp:time"
	NSVersion = "jabber:iq:version"
)

// DefaultNode is the XEP-0115 caps node: the URI of the software.
const DefaultNode = "https://github.com/xmppctl/xmppctl"

// SoftwareVersion is the XEP-0092 answer a session may give.
type SoftwareVersion struct {
	Name, Version string
	OS            bool // also tell the operating system
}

// Options describe the entity the session presents.
type Options struct {
	// Bot makes the identity client/bot (an unattended script) instead of
	// client/pc.
	Bot bool
	// Name is the identity's name; "" means "xmppctl".
	Name string
	// Version answers XEP-0092 queries; nil (the default) keeps the
	// software private and the feature unadvertised.
	Version *SoftwareVersion
	// Features are the features of the running command (Jingle file
	// transfer, receipts, ...), added to the ones answered here.
	Features []string
	// Node is the caps node; "" means DefaultNode.
	Node string
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Responder answers for one session.
type Responder struct {
	o     Options
	info  *disco.Info
	ver   string // XEP-0115 sha-1
	hash2 string // XEP-0390 sha-256
}

// New builds the responder and computes its capability hashes.
func New(o Options) (*Responder, error) {
	if o.Name == "" {
		o.Name = "xmppctl"
	}
	if o.Node == "" {
		o.Node = DefaultNode
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	typ := "pc"
	if o.Bot {
		typ = "bot"
	}
	feats := map[string]bool{
		disco.NSInfo: true, disco.NSItems: true, caps.NS: true, caps.NS2: true,
		stanza.NSPing: true, NSTime: true,
	}
	if o.Version != nil {
		feats[NSVersion] = true
	}
	for _, f := range o.Features {
		feats[f] = true
	}
	info := &disco.Info{Identities: []disco.Identity{{Category: "client", Type: typ, Name: o.Name}}}
	for f := range feats {
		info.Features = append(info.Features, f)
	}
	sort.Strings(info.Features)
	r := &Responder{o: o, info: info}
	var err error
	if r.ver, err = caps.Ver(info, "sha-1"); err != nil {
		return nil, err
	}
	if r.hash2, err = caps.Hash2(info, "sha-256"); err != nil {
		return nil, err
	}
	return r, nil
}

// Info returns what the session says about itself.
func (r *Responder) Info() *disco.Info { c := *r.info; return &c }

// Caps returns the XEP-0115 element for presence.
func (r *Responder) Caps() caps.Caps {
	return caps.Caps{Hash: "sha-1", Node: r.o.Node, Ver: r.ver}
}

// Caps2 returns the XEP-0390 element for presence.
func (r *Responder) Caps2() caps.Caps2 {
	return caps.Caps2{Hashes: []caps.Hash{{Algo: "sha-256", Value: r.hash2}}}
}

// Presence returns an available presence carrying both capability
// elements.
func (r *Responder) Presence() stanza.Presence {
	return stanza.Presence{Payload: []any{r.Caps(), r.Caps2()}}
}

// Announce sends the caps presence. go-xmpp already sent an initial
// presence without caps at login; this one replaces it.
func (r *Responder) Announce(ctx context.Context, s conn.Session) error {
	return s.Send(ctx, r.Presence())
}

// Register installs the IQ handlers on s.
func (r *Responder) Register(s conn.Session) {
	s.HandleIQ(disco.NSInfo, "query", r.discoInfo)
	s.HandleIQ(disco.NSItems, "query", r.discoItems)
	s.HandleIQ(stanza.NSPing, "ping", r.ping)
	s.HandleIQ(NSTime, "time", r.time)
	s.HandleIQ(NSVersion, "query", r.version)
}

func notFound() error { return &stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound} }

func unavailable() error {
	return &stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}
}

func onlyGet(iq *stanza.IQ) error {
	if iq.Type != stanza.GetIQ {
		return &stanza.Error{Type: stanza.Cancel, Condition: stanza.BadRequest}
	}
	return nil
}

func (r *Responder) discoInfo(_ context.Context, iq *stanza.IQ) (any, error) {
	if err := onlyGet(iq); err != nil {
		return nil, err
	}
	node := iq.Query.Attr("node")
	c1, c2 := r.Caps(), r.Caps2()
	switch node {
	case "", c1.QueryNode(), c2.Hashes[0].QueryNode():
	default:
		return nil, notFound()
	}
	info := r.Info()
	info.Node = node
	return info.Query(), nil
}

func (r *Responder) discoItems(_ context.Context, iq *stanza.IQ) (any, error) {
	if err := onlyGet(iq); err != nil {
		return nil, err
	}
	if iq.Query.Attr("node") != "" {
		return nil, notFound()
	}
	return disco.ItemsQuery{}, nil
}

func (r *Responder) ping(_ context.Context, iq *stanza.IQ) (any, error) {
	return nil, onlyGet(iq)
}

// timeResult is the XEP-0202 answer.
type timeResult struct {
	XMLName xml.Name `xml:"urn:xmpp:time time"`
	TZO     string   `xml:"tzo"`
	UTC     string   `xml:"utc"`
}

func (r *Responder) time(_ context.Context, iq *stanza.IQ) (any, error) {
	if err := onlyGet(iq); err != nil {
		return nil, err
	}
	now := r.o.Now()
	return timeResult{TZO: now.Format("-07:00"), UTC: now.UTC().Format("2006-01-02T15:04:05.000Z")}, nil
}

// versionResult is the XEP-0092 answer.
type versionResult struct {
	XMLName xml.Name `xml:"jabber:iq:version query"`
	Name    string   `xml:"name"`
	Version string   `xml:"version"`
	OS      string   `xml:"os,omitempty"`
}

func (r *Responder) version(_ context.Context, iq *stanza.IQ) (any, error) {
	if err := onlyGet(iq); err != nil {
		return nil, err
	}
	v := r.o.Version
	if v == nil {
		return nil, unavailable()
	}
	res := versionResult{Name: v.Name, Version: v.Version}
	if v.OS {
		res.OS = runtime.GOOS
	}
	return res, nil
}
