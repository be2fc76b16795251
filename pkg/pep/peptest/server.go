// Package peptest is an in-memory stand-in for an account's server in
// unit tests of PEP users (avatar, nick, vcard, the commands): it answers
// the IQs of XEP-0060/0163 (publish with publish-options, items, retract,
// node configuration), XEP-0030 disco#info, XEP-0054 vcard-temp and
// XEP-0191 blocking the way Prosody 0.12 does, and records every request.
// NewSession plugs one into an xmpptest.Session.
package peptest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Server holds the state of one account and its server.
type Server struct {
	Account         string   // bare JID of the account
	AccountFeatures []string // disco#info of the account
	ServerFeatures  []string // disco#info of the server
	// NoPublishOptions makes the service ignore publish-options (a server
	// without the feature): items land under the node's model.
	NoPublishOptions bool
	// BareConflict answers a publish-options mismatch with <conflict/>
	// alone, without <precondition-not-met/>.
	BareConflict bool
	// RefuseOptions are publish-options fields the service does not know
	// and refuses the publish for, with resource-constraint, as ejabberd
	// 23.01 does for pubsub#max_items.
	RefuseOptions []string
	// DefaultMax is the max_items of a node created without the setting
	// (ejabberd: 1); 0 keeps every item.
	DefaultMax int
	// Others are other accounts' nodes, readable when their model is open.
	Others map[string]map[string]*Node

	mu        sync.Mutex
	Nodes     map[string]*Node
	VCardTemp []byte // inner XML of the stored vCard, nil if none
	Blocklist []string
	Log       []string // one line per request: "publish NODE id=ID access=MODEL"
}

// Node is a PEP node.
type Node struct {
	Access string
	Max    int // most items kept, oldest dropped first; 0 = no limit
	Items  []Item
}

// maxItems reads a pubsub#max_items value: "max" is no limit.
func (s *Server) maxItems(e el) (int, bool) {
	v, ok := e.formValue("pubsub#max_items")
	if !ok {
		return s.DefaultMax, false
	}
	n := 0
	if v != "max" {
		_, _ = fmt.Sscan(v, &n)
	}
	return n, true
}

func (n *Node) add(it Item) {
	n.Items = slices.DeleteFunc(n.Items, func(old Item) bool { return old.ID == it.ID })
	n.Items = append(n.Items, it)
	if n.Max > 0 && len(n.Items) > n.Max {
		n.Items = slices.Delete(n.Items, 0, len(n.Items)-n.Max)
	}
}

// Item is a stored item.
type Item struct {
	ID      string
	Payload []byte // the payload element's XML
}

// NewSession returns an in-memory session whose IQs a new Server answers:
// the setup of nearly every test of a PEP user.
func NewSession() (*xmpptest.Session, *Server) {
	srv := New()
	s := xmpptest.New()
	s.OnIQ = srv.OnIQ
	return s, srv
}

// New returns a server for user@example.org with Prosody 0.12's features.
func New() *Server {
	return &Server{
		Account: "user@example.org",
		AccountFeatures: []string{"http://jabber.org/protocol/pubsub", "http://jabber.org/protocol/pubsub#publish-options",
			"urn:xmpp:pep-vcard-conversion:0"},
		ServerFeatures: []string{"urn:xmpp:blocking", "vcard-temp"},
		Nodes:          map[string]*Node{},
		Others:         map[string]map[string]*Node{},
	}
}

// Node returns a copy of the node, or nil.
func (s *Server) Node(name string) *Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.Nodes[name]
	if n == nil {
		return nil
	}
	c := *n
	c.Items = slices.Clone(n.Items)
	return &c
}

// Requests returns the request log.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Log)
}

// el is a generic parsed element.
type el struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []el       `xml:",any"`
	Text     string     `xml:",chardata"`
	Inner    []byte     `xml:",innerxml"`
}

func (e el) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (e el) child(local string) (el, bool) {
	for _, c := range e.Children {
		if c.XMLName.Local == local {
			return c, true
		}
	}
	return el{}, false
}

// formValue reads a field of a data form inside e.
func (e el) formValue(v string) (string, bool) {
	x, ok := e.child("x")
	if !ok {
		return "", false
	}
	for _, f := range x.Children {
		if f.attr("var") == v {
			if val, ok := f.child("value"); ok {
				return val.Text, true
			}
		}
	}
	return "", false
}

func stanzaErr(typ stanza.ErrorType, cond stanza.Condition, extra ...stanza.Condition) (*stanza.IQ, error) {
	e := &stanza.Error{Type: typ, Condition: cond}
	if len(extra) > 0 {
		e.Condition = extra[0] // go-xmpp reports the last condition child
	}
	return &stanza.IQ{Type: stanza.ErrorIQ, Error: e}, e
}

func result(space, local string, inner []byte) (*stanza.IQ, error) {
	return &stanza.IQ{Type: stanza.ResultIQ, Query: stanza.Element{XMLName: xml.Name{Space: space, Local: local}, Inner: inner}}, nil
}

// OnIQ answers an IQ request; use it as xmpptest.Session.OnIQ.
func (s *Server) OnIQ(iq stanza.IQ) (*stanza.IQ, error) {
	raw, err := xml.Marshal(iq.Payload)
	if err != nil {
		return nil, err
	}
	var p el
	if err := xml.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p.XMLName.Space {
	case "http://jabber.org/protocol/disco#info":
		return s.disco(iq.To)
	case "http://jabber.org/protocol/pubsub":
		return s.pubsub(iq, p)
	case "http://jabber.org/protocol/pubsub#owner":
		return s.owner(iq, p)
	case "vcard-temp":
		return s.vcardTemp(iq, p)
	case "urn:xmpp:blocking":
		return s.blocking(iq, p)
	case "urn:xmpp:ping":
		return &stanza.IQ{Type: stanza.ResultIQ}, nil
	}
	return stanzaErr(stanza.Cancel, stanza.ServiceUnavailable)
}

func (s *Server) disco(to string) (*stanza.IQ, error) {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	features := s.ServerFeatures
	if to != "" && strings.Contains(to, "@") {
		features = s.AccountFeatures
		if len(features) > 0 {
			id := xml.StartElement{Name: xml.Name{Local: "identity"},
				Attr: []xml.Attr{{Name: xml.Name{Local: "category"}, Value: "pubsub"}, {Name: xml.Name{Local: "type"}, Value: "pep"}}}
			_ = enc.EncodeToken(id)
			_ = enc.EncodeToken(id.End())
		}
	}
	for _, f := range features {
		st := xml.StartElement{Name: xml.Name{Local: "feature"}, Attr: []xml.Attr{{Name: xml.Name{Local: "var"}, Value: f}}}
		_ = enc.EncodeToken(st)
		_ = enc.EncodeToken(st.End())
	}
	_ = enc.Flush()
	return result("http://jabber.org/protocol/disco#info", "query", b.Bytes())
}

func (s *Server) hasOptions() bool { return !s.NoPublishOptions }

func (s *Server) pubsub(iq stanza.IQ, p el) (*stanza.IQ, error) {
	own := iq.To == "" || iq.To == s.Account
	if pub, ok := p.child("publish"); ok {
		node := pub.attr("node")
		item, _ := pub.child("item")
		access, withOpts, max := "", false, s.DefaultMax
		o, hasOpts := p.child("publish-options")
		if hasOpts && s.hasOptions() {
			access, withOpts = o.formValue("pubsub#access_model")
			max, _ = s.maxItems(o)
		}
		s.Log = append(s.Log, fmt.Sprintf("publish %s id=%s access=%s", node, item.attr("id"), access))
		for _, f := range s.RefuseOptions {
			if _, ok := o.formValue(f); ok && hasOpts {
				e := &stanza.Error{Type: stanza.Wait, Condition: stanza.ResourceConstraint,
					Text: "Unknown field '" + f + "' of type 'http://jabber.org/protocol/pubsub#publish-options'"}
				return &stanza.IQ{Type: stanza.ErrorIQ, Error: e}, e
			}
		}
		n := s.Nodes[node]
		if n == nil {
			n = &Node{Access: "presence", Max: max}
			if withOpts {
				n.Access = access
			}
			s.Nodes[node] = n
		} else if withOpts && n.Access != access {
			if s.BareConflict {
				return stanzaErr(stanza.Cancel, stanza.Conflict)
			}
			return stanzaErr(stanza.Cancel, stanza.Conflict, pep.PreconditionNotMet)
		}
		id := item.attr("id")
		if id == "" {
			id = fmt.Sprintf("gen%d", len(s.Log))
		}
		// encoding/xml writes each payload with its own xmlns, so the raw
		// inner XML of the item stands on its own.
		n.add(Item{ID: id, Payload: bytes.TrimSpace(item.Inner)})
		return &stanza.IQ{Type: stanza.ResultIQ}, nil
	}
	if items, ok := p.child("items"); ok {
		node := items.attr("node")
		s.Log = append(s.Log, "items "+node+" of "+iq.To)
		n := s.Nodes[node]
		if !own {
			n = s.Others[iq.To][node]
			if n != nil && n.Access != "open" {
				return stanzaErr(stanza.Auth, stanza.Forbidden)
			}
		}
		if n == nil {
			return stanzaErr(stanza.Cancel, stanza.ItemNotFound)
		}
		var want []string
		for _, c := range items.Children {
			want = append(want, c.attr("id"))
		}
		var b bytes.Buffer
		b.WriteString(`<items node="`)
		_ = xml.EscapeText(&b, []byte(node))
		b.WriteString(`">`)
		for _, it := range n.Items {
			if len(want) > 0 && !slices.Contains(want, it.ID) {
				continue
			}
			b.WriteString(`<item id="`)
			_ = xml.EscapeText(&b, []byte(it.ID))
			b.WriteString(`">`)
			b.Write(it.Payload)
			b.WriteString(`</item>`)
		}
		b.WriteString(`</items>`)
		return result("http://jabber.org/protocol/pubsub", "pubsub", b.Bytes())
	}
	if r, ok := p.child("retract"); ok {
		node := r.attr("node")
		s.Log = append(s.Log, "retract "+node)
		n := s.Nodes[node]
		if n == nil {
			return stanzaErr(stanza.Cancel, stanza.ItemNotFound)
		}
		for _, c := range r.Children {
			n.Items = slices.DeleteFunc(n.Items, func(it Item) bool { return it.ID == c.attr("id") })
		}
		return &stanza.IQ{Type: stanza.ResultIQ}, nil
	}
	if c, ok := p.child("create"); ok {
		node := c.attr("node")
		access, max, maxSet := "presence", s.DefaultMax, false
		if cfg, ok := p.child("configure"); ok {
			if v, ok := cfg.formValue("pubsub#access_model"); ok {
				access = v
			}
			max, maxSet = s.maxItems(cfg)
		}
		s.Log = append(s.Log, "create "+node+" access="+access+maxLog(max, maxSet))
		if s.Nodes[node] != nil {
			return stanzaErr(stanza.Cancel, stanza.Conflict)
		}
		s.Nodes[node] = &Node{Access: access, Max: max}
		return &stanza.IQ{Type: stanza.ResultIQ}, nil
	}
	return stanzaErr(stanza.Cancel, stanza.FeatureNotImplemented)
}

func (s *Server) owner(iq stanza.IQ, p el) (*stanza.IQ, error) {
	cfg, ok := p.child("configure")
	if !ok {
		return stanzaErr(stanza.Cancel, stanza.FeatureNotImplemented)
	}
	node := cfg.attr("node")
	n := s.Nodes[node]
	if iq.Type == stanza.SetIQ {
		v, _ := cfg.formValue("pubsub#access_model")
		max, maxSet := s.maxItems(cfg)
		s.Log = append(s.Log, "configure "+node+" access="+v+maxLog(max, maxSet))
		if n == nil {
			return stanzaErr(stanza.Cancel, stanza.ItemNotFound)
		}
		n.Access = v
		if maxSet {
			n.Max = max
		}
		return &stanza.IQ{Type: stanza.ResultIQ}, nil
	}
	if n == nil {
		return stanzaErr(stanza.Cancel, stanza.ItemNotFound)
	}
	var b bytes.Buffer
	b.WriteString(`<configure node="`)
	_ = xml.EscapeText(&b, []byte(node))
	b.WriteString(`"><x xmlns="jabber:x:data" type="form"><field var="FORM_TYPE" type="hidden">` +
		`<value>http://jabber.org/protocol/pubsub#node_config</value></field>` +
		`<field var="pubsub#access_model" type="list-single"><value>`)
	_ = xml.EscapeText(&b, []byte(n.Access))
	b.WriteString(`</value></field></x></configure>`)
	return result("http://jabber.org/protocol/pubsub#owner", "pubsub", b.Bytes())
}

func (s *Server) vcardTemp(iq stanza.IQ, p el) (*stanza.IQ, error) {
	if iq.Type == stanza.SetIQ {
		s.Log = append(s.Log, "vcard-temp set")
		s.VCardTemp = p.Inner
		return &stanza.IQ{Type: stanza.ResultIQ}, nil
	}
	s.Log = append(s.Log, "vcard-temp get")
	if s.VCardTemp == nil {
		return stanzaErr(stanza.Cancel, stanza.ItemNotFound)
	}
	return result("vcard-temp", "vCard", s.VCardTemp)
}

func (s *Server) blocking(iq stanza.IQ, p el) (*stanza.IQ, error) {
	if !slices.Contains(s.ServerFeatures, "urn:xmpp:blocking") {
		return stanzaErr(stanza.Cancel, stanza.ServiceUnavailable)
	}
	var jids []string
	for _, c := range p.Children {
		jids = append(jids, c.attr("jid"))
	}
	s.Log = append(s.Log, p.XMLName.Local+" "+strings.Join(jids, " "))
	switch p.XMLName.Local {
	case "blocklist":
		var b bytes.Buffer
		for _, j := range s.Blocklist {
			b.WriteString(`<item jid="`)
			_ = xml.EscapeText(&b, []byte(j))
			b.WriteString(`"/>`)
		}
		return result("urn:xmpp:blocking", "blocklist", b.Bytes())
	case "block":
		for _, j := range jids {
			if !slices.Contains(s.Blocklist, j) {
				s.Blocklist = append(s.Blocklist, j)
			}
		}
	case "unblock":
		if len(jids) == 0 {
			s.Blocklist = nil
		}
		s.Blocklist = slices.DeleteFunc(s.Blocklist, func(j string) bool { return slices.Contains(jids, j) })
	}
	return &stanza.IQ{Type: stanza.ResultIQ}, nil
}

// maxLog is the max_items part of a log line, empty when not set.
func maxLog(max int, set bool) string {
	switch {
	case !set:
		return ""
	case max == 0:
		return " max=max"
	}
	return fmt.Sprintf(" max=%d", max)
}
