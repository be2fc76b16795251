package forward

import (
	"encoding/xml"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// TopMessage decodes a <message/> stanza read whole from the top level of
// a stream whose default namespace is inherited, with the fast path's
// parser, into the value encoding/xml gives for a stanza.Message: the
// receive loop of pkg/conn takes every archive result this way (issue
// 16). Like fastXML it only takes the plain subset, and less: a second
// subject or body (encoding/xml keeps the last one, ignoring its
// language) and an <error/> child (stanza.Error has a decoder of its own)
// are left to encoding/xml too, as is anything not in jabber:client,
// which stanza.Message refuses. ok=false means: decode it with
// encoding/xml. The Inner of the extensions aliases b.
func TopMessage(b []byte, inherited string) (m *stanza.Message, ok bool) {
	if !validChars(b) {
		return nil, false
	}
	p := parser{b: b}
	p.borrow()
	defer p.release()
	name, attrs, empty, ok := p.startTag()
	if !ok || name != "message" || xmlnsOf(attrs, inherited) != stanza.NSClient {
		return nil, false
	}
	var w message
	if !p.message(&w, attrs, empty, inherited) || p.i != len(p.b) || len(w.Subject) > 1 || len(w.Body) > 1 {
		return nil, false
	}
	m = &stanza.Message{XMLName: xml.Name{Space: stanza.NSClient, Local: "message"},
		ID: w.ID, From: w.From, To: w.To, Type: w.Type, Lang: w.Lang, Thread: w.Thread, Ext: w.Ext}
	if len(w.Subject) == 1 {
		m.Subject = w.Subject[0].Value
	}
	if len(w.Body) == 1 {
		m.Body = w.Body[0].Value
	}
	for _, x := range m.Ext {
		if x.XMLName.Local == "error" {
			return nil, false
		}
	}
	return m, true
}
