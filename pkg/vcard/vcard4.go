package vcard

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// ErrNone is returned when no vCard4 is published.
var ErrNone = errors.New("no profile published")

// Card is a vCard4 (RFC 6351 XML) as its properties in order. Properties
// xmppctl does not know, and the parameters of those it does, are kept
// as received, so that changing one field never loses another.
type Card struct {
	XMLName xml.Name         `xml:"urn:ietf:params:xml:ns:vcard-4.0 vcard"`
	Props   []stanza.Element `xml:",any"`
}

// Field describes a property xmppctl edits: its vCard4 name, the element
// holding its value, and whether it may occur several times.
type Field struct {
	Name  string // e.g. "fn"
	Value string // "text", "uri" or "date"
	Multi bool
}

// Fields are the properties `profile set` edits.
var Fields = []Field{
	{"fn", "text", false}, {"nickname", "text", false}, {"note", "text", false},
	{"org", "text", false}, {"title", "text", false}, {"bday", "date", false},
	{"url", "uri", true}, {"email", "text", true}, {"tel", "uri", true},
}

// FieldByName returns the field description.
func FieldByName(name string) (Field, bool) {
	for _, f := range Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Profile is the typed view of a Card.
type Profile struct {
	JID      string   `json:"jid,omitempty"`
	FN       string   `json:"fn,omitempty"`
	Nickname string   `json:"nickname,omitempty"`
	Note     string   `json:"note,omitempty"`
	Org      string   `json:"org,omitempty"`
	Title    string   `json:"title,omitempty"`
	Bday     string   `json:"bday,omitempty"`
	URLs     []string `json:"urls,omitempty"`
	Emails   []string `json:"emails,omitempty"`
	Tels     []string `json:"tels,omitempty"`
}

// valueXML is any property's value children (<text/>, <uri/>, ...).
type valueXML struct {
	Any []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:",any"`
}

// Values returns the values of every property named name, each the text
// of its first value element (text, uri, date, ...), parameters skipped.
func (c *Card) Values(name string) []string {
	var out []string
	for _, p := range c.Props {
		if p.XMLName.Local != name {
			continue
		}
		var v valueXML
		if p.Decode(&v) != nil {
			continue
		}
		for _, a := range v.Any {
			if a.XMLName.Local == "parameters" || a.XMLName.Local == "group" {
				continue
			}
			if t := strings.TrimSpace(a.Text); t != "" {
				out = append(out, t)
			}
			break
		}
	}
	return out
}

func (c *Card) first(name string) string {
	if v := c.Values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces every property named name by one per value (none removes
// it). New properties go where the first old one was, else at the end.
func (c *Card) Set(f Field, values ...string) {
	var news []stanza.Element
	for _, v := range values {
		v = strings.TrimSpace(stanza.Sanitize(v))
		if v == "" {
			continue
		}
		if f.Name == "tel" {
			v = TelURI(v)
		}
		inner, _ := xml.Marshal(struct {
			XMLName xml.Name
			V       string `xml:",chardata"`
		}{xml.Name{Local: f.Value}, v})
		news = append(news, stanza.Element{XMLName: xml.Name{Space: NS4, Local: f.Name}, Inner: inner})
	}
	out := make([]stanza.Element, 0, len(c.Props)+len(news))
	placed := false
	for _, p := range c.Props {
		if p.XMLName.Local == f.Name {
			if !placed {
				out = append(out, news...)
				placed = true
			}
			continue
		}
		out = append(out, p)
	}
	if !placed {
		out = append(out, news...)
	}
	c.Props = out
}

// TelURI turns a phone number into a tel: URI (RFC 3966): spaces become
// hyphens, which are visual separators there.
func TelURI(s string) string {
	if strings.HasPrefix(strings.ToLower(s), "tel:") {
		return s
	}
	return "tel:" + strings.Join(strings.Fields(s), "-")
}

// Profile returns the typed view of the card.
func (c *Card) Profile() Profile {
	p := Profile{FN: c.first("fn"), Nickname: c.first("nickname"), Note: c.first("note"),
		Org: c.first("org"), Title: c.first("title"), Bday: c.first("bday"),
		URLs: c.Values("url"), Emails: c.Values("email")}
	for _, t := range c.Values("tel") {
		if len(t) > 4 && strings.EqualFold(t[:4], "tel:") {
			t = t[4:]
		}
		p.Tels = append(p.Tels, t)
	}
	return p
}

// Get returns the vCard4 jid publishes ("" = the account's own).
func Get(ctx context.Context, s conn.Session, jid string) (*Card, error) {
	items, err := pep.Items(ctx, s, jid, Node4, 1)
	if pep.IsNotFound(err) {
		return nil, ErrNone
	}
	if err != nil {
		return nil, err
	}
	if len(items) == 0 || items[len(items)-1].Payload.XMLName.Local == "" {
		return nil, ErrNone
	}
	return ParseCard(items[len(items)-1].Payload)
}

// ParseCard decodes a <vcard/> payload.
func ParseCard(el stanza.Element) (*Card, error) {
	if !el.Is(NS4, "vcard") {
		return nil, fmt.Errorf("parse vCard4: unexpected element <%s xmlns=%q>", el.XMLName.Local, el.XMLName.Space)
	}
	var c Card
	if err := el.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse vCard4: %w", err)
	}
	return &c, nil
}

// Publish publishes the card as the account's profile (item "current").
func Publish(ctx context.Context, s conn.Session, c *Card, o pep.Options) error {
	return pep.Publish(ctx, s, Node4, "current", c, o)
}
