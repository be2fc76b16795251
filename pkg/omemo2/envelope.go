package omemo2

// The OMEMO profile of XEP-0420 Stanza Content Encryption: the plaintext
// of a payload is an <envelope xmlns='urn:xmpp:sce:1'/> with the
// protected elements in <content/>, random <rpad/> (MUST), <time/> (MAY),
// <from/> (SHOULD) and <to/> (MUST in group chats).

import (
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"time"

	"mellium.im/xmpp/jid"
)

// NSSCE is the namespace of XEP-0420 envelopes.
const NSSCE = "urn:xmpp:sce:1"

// NSClient is the namespace of the <body/> inside the envelope's content.
const NSClient = "jabber:client"

// MaxPad is the largest <rpad/> length NewEnvelope picks.
const MaxPad = 200

// ErrAffix means an envelope's <from/> or <to/> does not match the stanza
// that carried it: the message was replayed into another conversation.
var ErrAffix = errors.New("envelope does not match the stanza")

// Envelope is an XEP-0420 <envelope/>.
type Envelope struct {
	XMLName xml.Name   `xml:"urn:xmpp:sce:1 envelope"`
	Content Content    `xml:"content"`
	RPad    string     `xml:"rpad,omitempty"`
	Time    *TimeAffix `xml:"time"`
	To      *JIDAffix  `xml:"to"`
	From    *JIDAffix  `xml:"from"`
}

// Content holds the encrypted stanza elements.
type Content struct {
	Body *Body `xml:"jabber:client body"`
	// Other holds the other elements, as received (for inspection; their
	// inner XML is raw and is never re-marshalled by this package).
	Other []Element `xml:",any"`
}

// Body is the message body inside the content.
type Body struct {
	XMLName xml.Name `xml:"jabber:client body"`
	Text    string   `xml:",chardata"`
}

// Element is an element of the content other than <body/>.
type Element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// TimeAffix is <time stamp='...'/> (XEP-0082 date-time). The stamp is
// kept as text so that a malformed one does not make the message
// unreadable; Time parses it.
type TimeAffix struct {
	Stamp string `xml:"stamp,attr"`
}

// Time returns the parsed stamp; ok is false when it is not an XEP-0082
// date-time.
func (t *TimeAffix) Time() (ts time.Time, ok bool) {
	ts, err := time.Parse(time.RFC3339, t.Stamp)
	return ts, err == nil
}

// JIDAffix is <to jid='...'/> or <from jid='...'/>.
type JIDAffix struct {
	JID jid.JID `xml:"jid,attr"`
}

// NewEnvelope builds the envelope of a chat message from `from` to `to`
// (bare JIDs are used; for a group chat `to` is the room) with random
// padding and the current time.
func NewEnvelope(body string, from, to jid.JID, now time.Time) (*Envelope, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(MaxPad))
	if err != nil {
		return nil, fmt.Errorf("envelope padding: %w", err)
	}
	pad := make([]byte, n.Int64()+1)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if _, err := rand.Read(pad); err != nil {
		return nil, fmt.Errorf("envelope padding: %w", err)
	}
	for i, b := range pad {
		pad[i] = alphabet[b%64]
	}
	return &Envelope{
		Content: Content{Body: &Body{Text: body}},
		RPad:    string(pad),
		Time:    &TimeAffix{Stamp: now.UTC().Format(time.RFC3339)},
		To:      &JIDAffix{JID: to.Bare()},
		From:    &JIDAffix{JID: from.Bare()},
	}, nil
}

// Marshal serializes the envelope: the plaintext given to Seal.
func (e *Envelope) Marshal() ([]byte, error) {
	b, err := xml.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	return b, nil
}

// ParseEnvelope parses the plaintext of a payload.
func ParseEnvelope(data []byte) (*Envelope, error) {
	var e Envelope
	if err := xml.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("parse envelope: %w", err)
	}
	return &e, nil
}

// BodyText returns the message body, or "" when the content has none.
func (e *Envelope) BodyText() string {
	if e.Content.Body == nil {
		return ""
	}
	return e.Content.Body.Text
}

// Check compares the affixes with the stanza that carried the envelope:
// a <from/> must name the sender (bare JID; in a room, the occupant's
// real JID) and a <to/> the stanza's recipient (bare JID; the room for a
// group chat message), and a group chat message must have a
// <to/>, so that the server can neither turn a private message into a
// group message nor the reverse, nor replay a message to someone else.
func (e *Envelope) Check(from, to jid.JID, groupchat bool) error {
	if e.From != nil && !e.From.JID.Bare().Equal(from.Bare()) {
		return fmt.Errorf("%w: from %s, stanza from %s", ErrAffix, e.From.JID.Bare(), from.Bare())
	}
	if e.To == nil {
		if groupchat {
			return fmt.Errorf("%w: group chat message without <to/>", ErrAffix)
		}
		return nil
	}
	if !e.To.JID.Bare().Equal(to.Bare()) {
		return fmt.Errorf("%w: to %s, stanza to %s", ErrAffix, e.To.JID.Bare(), to.Bare())
	}
	return nil
}
