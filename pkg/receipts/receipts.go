// Package receipts implements XEP-0184 Message Delivery Receipts.
package receipts

import (
	"encoding/xml"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS is the XEP-0184 namespace.
const NS = stanza.NSReceipts

// Request is the <request/> element asking the recipient for a receipt.
type Request struct {
	XMLName xml.Name `xml:"urn:xmpp:receipts request"`
}

// Received acknowledges the message with the given id.
type Received struct {
	XMLName xml.Name `xml:"urn:xmpp:receipts received"`
	ID      string   `xml:"id,attr"`
}

// ReceivedID returns the id a message acknowledges, if it is a receipt.
func ReceivedID(m *stanza.Message) (string, bool) {
	el, ok := stanza.Find(m.Ext, NS, "received")
	if !ok {
		return "", false
	}
	return el.Attr("id"), true
}

// Requested reports whether a message asks for a receipt.
func Requested(m *stanza.Message) bool {
	_, ok := stanza.Find(m.Ext, NS, "request")
	return ok
}
