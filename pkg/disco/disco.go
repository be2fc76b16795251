package disco

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Identity is a disco#info identity.
type Identity struct {
	Category string `xml:"category,attr" json:"category"`
	Type     string `xml:"type,attr" json:"type"`
	Name     string `xml:"name,attr,omitempty" json:"name,omitempty"`
	Lang     string `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty" json:"lang,omitempty"`
}

// Field is a data form field.
type Field struct {
	Var    string   `xml:"var,attr,omitempty" json:"var"`
	Type   string   `xml:"type,attr,omitempty" json:"type,omitempty"`
	Values []string `xml:"value" json:"values"`
}

// Form is an XEP-0004 data form, as used for XEP-0128 extended info.
type Form struct {
	XMLName xml.Name `xml:"jabber:x:data x" json:"-"`
	Type    string   `xml:"type,attr" json:"type"`
	Fields  []Field  `xml:"field" json:"fields"`
}

// FormType returns the value of the hidden FORM_TYPE field.
func (f Form) FormType() string { return f.Value("FORM_TYPE") }

// Value returns the first value of the field var.
func (f Form) Value(v string) string {
	for _, fl := range f.Fields {
		if fl.Var == v && len(fl.Values) > 0 {
			return fl.Values[0]
		}
	}
	return ""
}

type feature struct {
	XMLName xml.Name `xml:"feature"`
	Var     string   `xml:"var,attr"`
}

// InfoQuery is the wire form of a disco#info query and its result.
type InfoQuery struct {
	XMLName    xml.Name   `xml:"http://jabber.org/protocol/disco#info query"`
	Node       string     `xml:"node,attr,omitempty"`
	Identities []Identity `xml:"identity"`
	Features   []feature  `xml:"feature"`
	Forms      []Form     `xml:"jabber:x:data x"`
}

// Info is what an entity says about itself.
type Info struct {
	JID        string     `json:"jid"`
	Node       string     `json:"node,omitempty"`
	Identities []Identity `json:"identities"`
	Features   []string   `json:"features"`
	Forms      []Form     `json:"forms,omitempty"`
}

// HasFeature reports whether the entity advertises the feature.
func (i *Info) HasFeature(ns string) bool {
	for _, f := range i.Features {
		if f == ns {
			return true
		}
	}
	return false
}

// HasIdentity reports whether the entity has an identity of category and
// type ("" matches any type).
func (i *Info) HasIdentity(category, typ string) bool {
	for _, id := range i.Identities {
		if id.Category == category && (typ == "" || id.Type == typ) {
			return true
		}
	}
	return false
}

// Form returns the extended-info form with the given FORM_TYPE.
func (i *Info) Form(formType string) (Form, bool) {
	for _, f := range i.Forms {
		if f.FormType() == formType {
			return f, true
		}
	}
	return Form{}, false
}

// ParseInfo decodes a disco#info result payload.
func ParseInfo(jid string, el stanza.Element) (*Info, error) {
	var q InfoQuery
	if err := el.Decode(&q); err != nil {
		return nil, fmt.Errorf("parse disco#info from %s: %w", jid, err)
	}
	info := &Info{JID: jid, Node: q.Node, Identities: q.Identities, Forms: q.Forms}
	for _, f := range q.Features {
		info.Features = append(info.Features, f.Var)
	}
	return info, nil
}

// GetInfo asks jid (and optionally a node) for disco#info.
func GetInfo(ctx context.Context, s conn.Session, jid, node string) (*Info, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: jid, Payload: InfoQuery{Node: node}})
	if err != nil {
		return nil, fmt.Errorf("disco#info %s: %w", jid, err)
	}
	info, err := ParseInfo(jid, resp.Query)
	if err != nil {
		return nil, err
	}
	if info.Node == "" {
		info.Node = node // go-xmpp drops the node attribute of results
	}
	return info, nil
}

// Query returns the wire form of the info, for answering a disco#info
// request.
func (i *Info) Query() InfoQuery {
	q := InfoQuery{Node: i.Node, Identities: i.Identities, Forms: i.Forms}
	for _, f := range i.Features {
		q.Features = append(q.Features, feature{Var: f})
	}
	return q
}

// Item is a disco#items entry.
type Item struct {
	JID  string `xml:"jid,attr" json:"jid"`
	Node string `xml:"node,attr,omitempty" json:"node,omitempty"`
	Name string `xml:"name,attr,omitempty" json:"name,omitempty"`
}

// ItemsQuery is the wire form of a disco#items query and its result. RSM
// is the XEP-0059 set of a paged request or result.
type ItemsQuery struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/disco#items query"`
	Node    string   `xml:"node,attr,omitempty"`
	Items   []Item   `xml:"item"`
	RSM     *RSM     `xml:"http://jabber.org/protocol/rsm set,omitempty"`
}

// ParseItems decodes a disco#items result payload.
func ParseItems(el stanza.Element) ([]Item, error) {
	q, err := parseItemsQuery(el)
	if err != nil {
		return nil, err
	}
	return q.Items, nil
}

func parseItemsQuery(el stanza.Element) (*ItemsQuery, error) {
	var q ItemsQuery
	if err := el.Decode(&q); err != nil {
		return nil, fmt.Errorf("parse disco#items: %w", err)
	}
	return &q, nil
}

// GetItems asks jid (and optionally a node) for disco#items, following
// XEP-0059 pages when the entity pages its answer.
func GetItems(ctx context.Context, s conn.Session, jid, node string) ([]Item, error) {
	it := NewItemIter(s, jid, node)
	defer it.Close()
	var out []Item
	for it.Next(ctx) {
		out = append(out, it.Item())
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
