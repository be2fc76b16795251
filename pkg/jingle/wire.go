package jingle

import (
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Actions of XEP-0166 used here.
const (
	ActSessionInitiate  = "session-initiate"
	ActSessionAccept    = "session-accept"
	ActSessionInfo      = "session-info"
	ActSessionTerminate = "session-terminate"
	ActTransportInfo    = "transport-info"
	ActTransportReplace = "transport-replace"
	ActTransportAccept  = "transport-accept"
	ActTransportReject  = "transport-reject"
)

// Jingle is the <jingle/> element. Payload holds outgoing session-info
// children; Any holds the unknown children of a received one.
type Jingle struct {
	XMLName   xml.Name         `xml:"urn:xmpp:jingle:1 jingle"`
	Action    string           `xml:"action,attr"`
	Initiator string           `xml:"initiator,attr,omitempty"`
	Responder string           `xml:"responder,attr,omitempty"`
	SID       string           `xml:"sid,attr"`
	Contents  []Content        `xml:"content"`
	Reason    *Reason          `xml:"reason"`
	Payload   []any            `xml:"-"`
	Any       []stanza.Element `xml:",any"`
}

// MarshalXML writes the element with its outgoing payloads.
func (j Jingle) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start = xml.StartElement{Name: xml.Name{Space: NS, Local: "jingle"}}
	for _, a := range [][2]string{{"action", j.Action}, {"initiator", j.Initiator}, {"responder", j.Responder}, {"sid", j.SID}} {
		if a[1] != "" {
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: a[0]}, Value: a[1]})
		}
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for _, c := range j.Contents {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	if j.Reason != nil {
		if err := enc.Encode(j.Reason); err != nil {
			return err
		}
	}
	for _, p := range j.Payload {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	for _, p := range j.Any {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// Content is a <content/>. Payload holds the outgoing description and
// transport; Any holds the children of a received one.
type Content struct {
	XMLName     xml.Name         `xml:"content"`
	Creator     string           `xml:"creator,attr"`
	Name        string           `xml:"name,attr"`
	Senders     string           `xml:"senders,attr,omitempty"`
	Disposition string           `xml:"disposition,attr,omitempty"`
	Payload     []any            `xml:"-"`
	Any         []stanza.Element `xml:",any"`
}

// MarshalXML writes the content with its payloads.
func (c Content) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start = xml.StartElement{Name: xml.Name{Space: NS, Local: "content"}}
	for _, a := range [][2]string{{"creator", c.Creator}, {"name", c.Name}, {"senders", c.Senders}, {"disposition", c.Disposition}} {
		if a[1] != "" {
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: a[0]}, Value: a[1]})
		}
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for _, p := range c.Payload {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	for _, p := range c.Any {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// child returns the first received child with the local name whose
// namespace is one of spaces.
func (c Content) child(local string, spaces ...string) (stanza.Element, bool) {
	for _, e := range c.Any {
		if e.XMLName.Local != local {
			continue
		}
		for _, s := range spaces {
			if e.XMLName.Space == s {
				return e, true
			}
		}
	}
	return stanza.Element{}, false
}

// Reasons of XEP-0166 §7.4 used here.
const (
	ReasonSuccess             = "success"
	ReasonDecline             = "decline"
	ReasonCancel              = "cancel"
	ReasonBusy                = "busy"
	ReasonTimeout             = "timeout"
	ReasonMediaError          = "media-error"
	ReasonFailedApplication   = "failed-application"
	ReasonFailedTransport     = "failed-transport"
	ReasonConnectivityError   = "connectivity-error"
	ReasonGeneralError        = "general-error"
	ReasonUnsupportedApps     = "unsupported-applications"
	ReasonUnsupportedTransprt = "unsupported-transports"
	ReasonSecurityError       = "security-error"
)

// Reason is a <reason/>: a condition, optional text and an optional
// application-specific element (such as <file-too-large/>).
type Reason struct {
	Condition string
	Text      string
	App       *stanza.Element
}

// MarshalXML writes <reason><condition/><text/>app</reason>.
func (r Reason) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Space: NS, Local: "reason"}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	cond := r.Condition
	if cond == "" {
		cond = ReasonGeneralError
	}
	c := xml.StartElement{Name: xml.Name{Space: NS, Local: cond}}
	if err := enc.EncodeToken(c); err != nil {
		return err
	}
	if err := enc.EncodeToken(c.End()); err != nil {
		return err
	}
	if r.Text != "" {
		if err := enc.EncodeElement(stanza.Sanitize(r.Text), xml.StartElement{Name: xml.Name{Space: NS, Local: "text"}}); err != nil {
			return err
		}
	}
	if r.App != nil {
		if err := enc.Encode(r.App); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads a <reason/>, whatever the order of its children.
func (r *Reason) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		Any []struct {
			XMLName xml.Name
			Attrs   []xml.Attr `xml:",any,attr"`
			Text    string     `xml:",chardata"`
			Inner   []byte     `xml:",innerxml"`
		} `xml:",any"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*r = Reason{}
	for _, c := range raw.Any {
		switch {
		case c.XMLName.Local == "text" && (c.XMLName.Space == NS || c.XMLName.Space == ""):
			r.Text = c.Text
		case c.XMLName.Space == NS || c.XMLName.Space == "":
			if r.Condition == "" {
				r.Condition = c.XMLName.Local
			}
		case r.App == nil:
			r.App = &stanza.Element{XMLName: c.XMLName, Attrs: c.Attrs, Inner: c.Inner}
		}
	}
	return nil
}

// String is the condition with the text, for error messages.
func (r *Reason) String() string {
	if r == nil {
		return "no reason given"
	}
	s := r.Condition
	if r.App != nil {
		s += "/" + r.App.XMLName.Local
	}
	if r.Text != "" {
		s += fmt.Sprintf(" (%s)", r.Text)
	}
	return s
}

// File is the XEP-0234 <file/> element.
type File struct {
	XMLName   xml.Name      `xml:"file"`
	Date      string        `xml:"date,omitempty"`
	Desc      *string       `xml:"desc"`
	MediaType string        `xml:"media-type,omitempty"`
	Name      string        `xml:"name,omitempty"`
	Size      *int64        `xml:"size"`
	Range     *Range        `xml:"range"`
	Hashes    []hashes.Hash `xml:"urn:xmpp:hashes:2 hash"`
	HashesV1  []hashV1      `xml:"urn:xmpp:hashes:1 hash"`
	HashUsed  []hashes.Used `xml:"urn:xmpp:hashes:2 hash-used"`
}

type hashV1 struct {
	XMLName xml.Name `xml:"urn:xmpp:hashes:1 hash"`
	Algo    string   `xml:"algo,attr"`
	Value   string   `xml:",chardata"`
}

// AllHashes returns the hashes of both namespaces.
func (f File) AllHashes() []hashes.Hash {
	out := append([]hashes.Hash(nil), f.Hashes...)
	for _, h := range f.HashesV1 {
		out = append(out, hashes.Hash{Algo: h.Algo, Value: h.Value})
	}
	return out
}

// Range is <range/>.
type Range struct {
	Offset int64 `xml:"offset,attr,omitempty"`
	Length int64 `xml:"length,attr,omitempty"`
}

// Description is the XEP-0234 <description/>; Space is :5 or :4. The old
// <offer/> wrapper of :3 is read too.
type Description struct {
	XMLName xml.Name
	File    *File `xml:"file"`
	Offer   *struct {
		File *File `xml:"file"`
	} `xml:"offer"`
}

// TheFile returns the described file.
func (d Description) TheFile() *File {
	if d.File != nil {
		return d.File
	}
	if d.Offer != nil {
		return d.Offer.File
	}
	return nil
}

// Checksum is the session-info <checksum/>.
type Checksum struct {
	XMLName xml.Name
	Creator string `xml:"creator,attr,omitempty"`
	Name    string `xml:"name,attr,omitempty"`
	File    File   `xml:"file"`
}

// Received is the session-info <received/>.
type Received struct {
	XMLName xml.Name
	Creator string `xml:"creator,attr,omitempty"`
	Name    string `xml:"name,attr,omitempty"`
}

// S5BTransport is the XEP-0260 <transport/>.
type S5BTransport struct {
	XMLName        xml.Name    `xml:"urn:xmpp:jingle:transports:s5b:1 transport"`
	SID            string      `xml:"sid,attr"`
	Mode           string      `xml:"mode,attr,omitempty"`
	DstAddr        string      `xml:"dstaddr,attr,omitempty"`
	Candidates     []Candidate `xml:"candidate"`
	CandidateUsed  *CID        `xml:"candidate-used"`
	CandidateError *Empty      `xml:"candidate-error"`
	Activated      *CID        `xml:"activated"`
	ProxyError     *Empty      `xml:"proxy-error"`
}

// Candidate types and their XEP-0260 type preferences.
const (
	TypeDirect   = "direct"
	TypeAssisted = "assisted"
	TypeTunnel   = "tunnel"
	TypeProxy    = "proxy"
)

// Candidate is one XEP-0260 candidate.
type Candidate struct {
	CID      string `xml:"cid,attr"`
	Host     string `xml:"host,attr"`
	JID      string `xml:"jid,attr"`
	Port     int    `xml:"port,attr,omitempty"`
	Priority uint32 `xml:"priority,attr"`
	Type     string `xml:"type,attr,omitempty"`
}

// CID is an element with only a cid attribute.
type CID struct {
	CID string `xml:"cid,attr"`
}

// Empty is an element without content.
type Empty struct{}

// IBBTransport is the XEP-0261 <transport/>.
type IBBTransport struct {
	XMLName   xml.Name `xml:"urn:xmpp:jingle:transports:ibb:1 transport"`
	BlockSize int      `xml:"block-size,attr,omitempty"`
	SID       string   `xml:"sid,attr"`
	Stanza    string   `xml:"stanza,attr,omitempty"`
}

// transportOf returns the decoded transport of a received content (kind
// "" for none).
func transportOf(c Content) (remoteTransport, error) {
	if el, ok := c.child("transport", NSS5B); ok {
		var t S5BTransport
		if err := el.Decode(&t); err != nil {
			return remoteTransport{}, fmt.Errorf("parse s5b transport: %w", err)
		}
		for _, cand := range t.Candidates {
			if cand.Port < 0 || cand.Port > 65535 {
				return remoteTransport{}, fmt.Errorf("parse s5b transport: port %d out of range", cand.Port)
			}
		}
		return remoteTransport{kind: MethodS5B, s5b: &t}, nil
	}
	if el, ok := c.child("transport", NSIBB); ok {
		var t IBBTransport
		if err := el.Decode(&t); err != nil {
			return remoteTransport{}, fmt.Errorf("parse ibb transport: %w", err)
		}
		return remoteTransport{kind: MethodIBB, ibb: &t}, nil
	}
	return remoteTransport{}, nil
}

// descriptionOf returns the file-transfer description of a content.
func descriptionOf(c Content) (*Description, error) {
	el, ok := c.child("description", NSFT, NSFT4)
	if !ok {
		return nil, nil
	}
	var d Description
	if err := el.Decode(&d); err != nil {
		return nil, fmt.Errorf("parse file description: %w", err)
	}
	d.XMLName = el.XMLName
	return &d, nil
}

// ParseJingle decodes the <jingle/> payload of an IQ.
func ParseJingle(el stanza.Element) (*Jingle, error) {
	var j Jingle
	if err := el.Decode(&j); err != nil {
		return nil, fmt.Errorf("parse jingle: %w", err)
	}
	if j.SID == "" || j.Action == "" {
		return nil, fmt.Errorf("parse jingle: missing sid or action")
	}
	return &j, nil
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
