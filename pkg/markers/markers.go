package markers

import (
	"encoding/xml"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS is the XEP-0333 namespace.
const NS = "urn:xmpp:chat-markers:0"

// Markable asks the recipient for markers.
type Markable struct {
	XMLName xml.Name `xml:"urn:xmpp:chat-markers:0 markable"`
}

// Marker kinds.
const (
	KindReceived     = "received"
	KindDisplayed    = "displayed"
	KindAcknowledged = "acknowledged"
)

// Marker is a received/displayed/acknowledged marker for the message with
// the given id.
type Marker struct {
	XMLName xml.Name
	ID      string `xml:"id,attr"`
}

// New returns a marker of the given kind.
func New(kind, id string) Marker {
	return Marker{XMLName: xml.Name{Space: NS, Local: kind}, ID: id}
}

// IsMarkable reports whether a message asks for markers.
func IsMarkable(m *stanza.Message) bool {
	_, ok := stanza.Find(m.Ext, NS, "markable")
	return ok
}

// Find returns the marker a message carries, if any.
func Find(m *stanza.Message) (kind, id string, ok bool) {
	for _, k := range []string{KindReceived, KindDisplayed, KindAcknowledged} {
		if el, found := stanza.Find(m.Ext, NS, k); found {
			return k, el.Attr("id"), true
		}
	}
	return "", "", false
}
