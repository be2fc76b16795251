package conn

import (
	"bytes"
	"encoding/xml"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// go-xmpp's Recv hands out its own lossy types. These functions rebuild
// stanza values from them so that the protocol packages see one shape:
// known fields plus the extension elements as raw XML. What go-xmpp drops
// (a message's "to", presence status codes and caps, disco identity
// languages, RSM in disco#items) cannot be recovered here.

const (
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
	nsUpload     = "urn:xmpp:http:upload:0"
	nsData       = "jabber:x:data"
)

func convert(v any, self string) stanza.Stanza {
	switch v := v.(type) {
	case xmpp.Chat:
		return convertChat(v, self)
	case xmpp.Presence:
		return convertPresence(v)
	case xmpp.IQ:
		return convertIQ(v)
	case xmpp.DiscoResult:
		return &stanza.IQ{ID: v.ID, From: v.From, To: v.To, Type: stanza.ResultIQ, Query: discoInfoElement(v)}
	case xmpp.DiscoItems:
		return &stanza.IQ{ID: v.ID, From: v.Jid, To: self, Type: stanza.ResultIQ, Query: discoItemsElement(v)}
	case xmpp.Slot:
		return &stanza.IQ{ID: v.ID, Type: stanza.ResultIQ, To: self, Query: slotElement(v)}
	}
	return nil
}

func attr(local, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Local: local}, Value: value}
}

func convertChat(c xmpp.Chat, self string) *stanza.Message {
	m := &stanza.Message{ID: c.ID, From: c.Remote, To: self, Type: stanza.MessageType(c.Type), Lang: c.Lang,
		Subject: c.Subject, Body: c.Text, Thread: c.Thread}
	if c.OriginID != "" {
		m.Ext = append(m.Ext, stanza.Element{XMLName: xml.Name{Space: stanza.NSSID, Local: "origin-id"},
			Attrs: []xml.Attr{attr("id", c.OriginID)}})
	}
	if c.StanzaID.ID != "" {
		m.Ext = append(m.Ext, stanza.Element{XMLName: xml.Name{Space: stanza.NSSID, Local: "stanza-id"},
			Attrs: []xml.Attr{attr("id", c.StanzaID.ID), attr("by", c.StanzaID.By)}})
	}
	if c.Oob.Url != "" {
		type oob struct {
			URL  string `xml:"url"`
			Desc string `xml:"desc,omitempty"`
		}
		inner, _ := xml.Marshal(oob{c.Oob.Url, c.Oob.Desc})
		inner = bytes.TrimSuffix(bytes.TrimPrefix(inner, []byte("<oob>")), []byte("</oob>"))
		m.Ext = append(m.Ext, stanza.Element{XMLName: xml.Name{Space: stanza.NSOOB, Local: "x"}, Inner: inner})
	}
	if !c.Stamp.IsZero() {
		m.Ext = append(m.Ext, stanza.Element{XMLName: xml.Name{Space: stanza.NSDelay, Local: "delay"},
			Attrs: []xml.Attr{attr("stamp", c.Stamp.UTC().Format("2006-01-02T15:04:05Z"))}})
	}
	for _, o := range c.OtherElem {
		el := stanza.Element{XMLName: o.XMLName, Attrs: o.Attr, Inner: []byte(o.InnerXML)}
		if o.XMLName.Local == "error" && (o.XMLName.Space == stanza.NSClient || o.XMLName.Space == "") {
			var e stanza.Error
			if el.Decode(&e) == nil {
				m.Error = &e
			}
			continue
		}
		m.Ext = append(m.Ext, el)
	}
	if m.Type == stanza.ErrorMessage && m.Error == nil {
		m.Error = &stanza.Error{Type: stanza.Cancel, Condition: stanza.UndefinedCondition}
	}
	return m
}

func convertPresence(p xmpp.Presence) *stanza.Presence {
	out := &stanza.Presence{ID: p.ID, From: p.From, To: p.To, Type: stanza.PresenceType(p.Type), Show: p.Show, Status: p.Status}
	if out.Type == stanza.ErrorPresence {
		cond := stanza.Condition(p.Error)
		// go-xmpp keeps the last child's name: "text" when the server
		// follows the condition with a text (the tap usually repairs it,
		// see presenceerr.go).
		if cond == "" || cond == "text" {
			cond = stanza.UndefinedCondition
		}
		out.Error = &stanza.Error{Condition: cond}
	}
	if p.Role != "" || p.Affiliation != "" || p.JID != "" {
		type item struct {
			XMLName     xml.Name `xml:"item"`
			Affiliation string   `xml:"affiliation,attr,omitempty"`
			Role        string   `xml:"role,attr,omitempty"`
			JID         string   `xml:"jid,attr,omitempty"`
		}
		inner, _ := xml.Marshal(item{Affiliation: p.Affiliation, Role: p.Role, JID: p.JID})
		out.Ext = append(out.Ext, stanza.Element{XMLName: xml.Name{Space: stanza.NSMUCUser, Local: "x"}, Inner: inner})
	}
	return out
}

func convertIQ(q xmpp.IQ) *stanza.IQ {
	out := &stanza.IQ{ID: q.ID, From: q.From, To: q.To, Type: stanza.IQType(q.Type)}
	if len(q.Query) > 0 {
		if el, ok := queryElement(q.Query); ok && el.XMLName.Local != "XMLElement" {
			out.Query = el
		}
	}
	if out.Type == stanza.ErrorIQ {
		cond := stanza.Condition(q.Error.Condition)
		if cond == "" {
			cond = stanza.UndefinedCondition
		}
		out.Error = &stanza.Error{Type: stanza.ErrorType(q.Error.Type), Condition: cond, Text: q.Error.Text}
	}
	return out
}

// queryElement decodes the first element of an IQ's raw content. One that
// holds only text (an in-band data block: kilobytes of base64) is cut out of
// the bytes after parsing just its start tag, instead of tokenizing the text
// a second time (go-xmpp already did); anything else is fully decoded. Both
// give the same Element.
func queryElement(raw []byte) (stanza.Element, bool) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return stanza.Element{}, false
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		off := int(d.InputOffset())
		if bytes.HasSuffix(raw[:off], []byte("/>")) {
			break // empty element: decoded below
		}
		i := bytes.IndexByte(raw[off:], '<')
		if i < 0 || !bytes.HasPrefix(raw[off+i:], []byte("</")) {
			break // child elements, CDATA or comments: decoded below
		}
		return stanza.Element{XMLName: start.Name, Attrs: start.Attr, Inner: raw[off : off+i]}, true
	}
	var el stanza.Element
	if err := xml.Unmarshal(raw, &el); err != nil {
		return stanza.Element{}, false
	}
	return el, true
}

func discoInfoElement(d xmpp.DiscoResult) stanza.Element {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	for _, id := range d.Identities {
		st := xml.StartElement{Name: xml.Name{Local: "identity"},
			Attr: []xml.Attr{attr("category", id.Category), attr("type", id.Type)}}
		if id.Name != "" {
			st.Attr = append(st.Attr, attr("name", id.Name))
		}
		_ = enc.EncodeToken(st)
		_ = enc.EncodeToken(st.End())
	}
	for _, f := range d.Features {
		st := xml.StartElement{Name: xml.Name{Local: "feature"}, Attr: []xml.Attr{attr("var", f)}}
		_ = enc.EncodeToken(st)
		_ = enc.EncodeToken(st.End())
	}
	for _, x := range d.X {
		st := xml.StartElement{Name: xml.Name{Space: nsData, Local: "x"}, Attr: []xml.Attr{attr("type", "result")}}
		_ = enc.EncodeToken(st)
		for _, f := range x.Field {
			fs := xml.StartElement{Name: xml.Name{Local: "field"}, Attr: []xml.Attr{attr("var", f.Var)}}
			if f.Type != "" {
				fs.Attr = append(fs.Attr, attr("type", f.Type))
			}
			_ = enc.EncodeToken(fs)
			for _, v := range f.Value {
				_ = enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "value"}})
			}
			_ = enc.EncodeToken(fs.End())
		}
		_ = enc.EncodeToken(st.End())
	}
	_ = enc.Flush()
	return stanza.Element{XMLName: xml.Name{Space: nsDiscoInfo, Local: "query"}, Inner: b.Bytes()}
}

func discoItemsElement(d xmpp.DiscoItems) stanza.Element {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	for _, it := range d.Items {
		st := xml.StartElement{Name: xml.Name{Local: "item"}, Attr: []xml.Attr{attr("jid", it.Jid)}}
		if it.Node != "" {
			st.Attr = append(st.Attr, attr("node", it.Node))
		}
		if it.Name != "" {
			st.Attr = append(st.Attr, attr("name", it.Name))
		}
		_ = enc.EncodeToken(st)
		_ = enc.EncodeToken(st.End())
	}
	_ = enc.Flush()
	return stanza.Element{XMLName: xml.Name{Space: nsDiscoItems, Local: "query"}, Inner: b.Bytes()}
}

// slotElement rebuilds an XEP-0363 slot. go-xmpp keeps header values as
// raw inner XML, so they are unescaped here before re-encoding.
func slotElement(s xmpp.Slot) stanza.Element {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	put := xml.StartElement{Name: xml.Name{Local: "put"}, Attr: []xml.Attr{attr("url", s.Put.Url)}}
	_ = enc.EncodeToken(put)
	for _, h := range s.Put.Headers {
		_ = enc.EncodeElement(unescapeInner(h.Value), xml.StartElement{Name: xml.Name{Local: "header"},
			Attr: []xml.Attr{attr("name", h.Name)}})
	}
	_ = enc.EncodeToken(put.End())
	get := xml.StartElement{Name: xml.Name{Local: "get"}, Attr: []xml.Attr{attr("url", s.Get.Url)}}
	_ = enc.EncodeToken(get)
	_ = enc.EncodeToken(get.End())
	_ = enc.Flush()
	return stanza.Element{XMLName: xml.Name{Space: nsUpload, Local: "slot"}, Inner: b.Bytes()}
}

func unescapeInner(raw string) string {
	var s struct {
		V string `xml:",chardata"`
	}
	if xml.Unmarshal([]byte("<v>"+raw+"</v>"), &s) != nil {
		return raw
	}
	return s.V
}
