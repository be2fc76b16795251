package socks5

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// StreamHost is a <streamhost/>: where a bytestream can be reached.
type StreamHost struct {
	JID  string `xml:"jid,attr"`
	Host string `xml:"host,attr"`
	Port int    `xml:"port,attr,omitempty"`
}

// Used is <streamhost-used/>.
type Used struct {
	JID string `xml:"jid,attr"`
}

// Query is the bytestreams <query/>: an offer of streamhosts, the
// target's choice, a proxy's address, or an activation request.
type Query struct {
	XMLName     xml.Name     `xml:"http://jabber.org/protocol/bytestreams query"`
	SID         string       `xml:"sid,attr,omitempty"`
	Mode        string       `xml:"mode,attr,omitempty"`
	DstAddr     string       `xml:"dstaddr,attr,omitempty"`
	StreamHosts []StreamHost `xml:"streamhost"`
	Used        *Used        `xml:"streamhost-used"`
	Activate    string       `xml:"activate,omitempty"`
}

// ParseQuery decodes a bytestreams query payload.
func ParseQuery(el stanza.Element) (*Query, error) {
	var q Query
	if err := el.Decode(&q); err != nil {
		return nil, fmt.Errorf("parse bytestreams query: %w", err)
	}
	for _, h := range q.StreamHosts {
		if h.Port < 0 || h.Port > 65535 {
			return nil, fmt.Errorf("parse bytestreams query: port %d out of range", h.Port)
		}
	}
	return &q, nil
}

// Proxy returns the streamhost address of the server's XEP-0065 proxy, found
// through disco#items of the account's server (identity proxy/bytestreams).
// It returns disco.ErrNoService when the server has none.
func Proxy(ctx context.Context, s conn.Session, cache *disco.Cache) (StreamHost, error) {
	if cache == nil {
		cache = disco.NewCache(s)
	}
	info, err := cache.ServiceOfType(ctx, "proxy", "bytestreams")
	if err != nil {
		return StreamHost{}, err
	}
	return ProxyAt(ctx, s, info.JID)
}

// ProxyAt asks the proxy with the given JID for its streamhost address.
func ProxyAt(ctx context.Context, s conn.Session, jid string) (StreamHost, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: jid, Payload: Query{}})
	if err != nil {
		return StreamHost{}, fmt.Errorf("ask proxy %s for its address: %w", jid, err)
	}
	q, err := ParseQuery(resp.Query)
	if err != nil {
		return StreamHost{}, err
	}
	for _, h := range q.StreamHosts {
		if h.Host != "" && h.Port > 0 {
			if h.JID == "" {
				h.JID = jid
			}
			return h, nil
		}
	}
	return StreamHost{}, fmt.Errorf("proxy %s gave no usable address", jid)
}

// Activate asks a proxy to start relaying the stream sid to target
// (XEP-0065 §6.3.5). The requester's own connection must be open.
func Activate(ctx context.Context, s conn.Session, proxy, sid, target string) error {
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, To: proxy, Payload: Query{SID: sid, Activate: target}})
	if err != nil {
		return fmt.Errorf("activate bytestream on %s: %w", proxy, err)
	}
	return nil
}

// Addr returns host:port of a streamhost.
func (h StreamHost) Addr() string { return h.Host + ":" + strconv.Itoa(h.Port) }
