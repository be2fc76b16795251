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

// Answer returns the receipt for m, or false when none is due: only a
// message that asks for one, has an id and is not an error, a groupchat
// message or itself a receipt (XEP-0184 §5).
func Answer(m *stanza.Message) (stanza.Message, bool) {
	if !Requested(m) || m.ID == "" || m.Type == stanza.ErrorMessage || m.Type == stanza.GroupChatMessage {
		return stanza.Message{}, false
	}
	if _, isReceipt := ReceivedID(m); isReceipt {
		return stanza.Message{}, false
	}
	return stanza.Message{To: m.From, Type: m.Type, Payload: []any{Received{ID: m.ID}}}, true
}
