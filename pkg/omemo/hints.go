package omemo

import "encoding/xml"

// EME is the XEP-0380 hint naming the encryption.
type EME struct {
	XMLName   xml.Name `xml:"urn:xmpp:eme:0 encryption"`
	Namespace string   `xml:"namespace,attr"`
	Name      string   `xml:"name,attr,omitempty"`
}

// StoreHint is XEP-0334's <store/>: archive the message even though its
// body is only the fallback (and an empty key transport message too).
type StoreHint struct {
	XMLName xml.Name `xml:"urn:xmpp:hints store"`
}
