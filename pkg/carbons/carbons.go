package carbons

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/forward"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS is the XEP-0280 namespace.
const NS = "urn:xmpp:carbons:2"

type enable struct {
	XMLName xml.Name `xml:"urn:xmpp:carbons:2 enable"`
}

type disable struct {
	XMLName xml.Name `xml:"urn:xmpp:carbons:2 disable"`
}

// Private is the <private/> element that keeps a message from being
// copied to our other devices.
type Private struct {
	XMLName xml.Name `xml:"urn:xmpp:carbons:2 private"`
}

// Enable asks the server to copy this session every message that another
// of our sessions sends or receives.
func Enable(ctx context.Context, s conn.Session) error {
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: enable{}}); err != nil {
		return fmt.Errorf("enable carbons: %w", err)
	}
	return nil
}

// Disable stops the copies.
func Disable(ctx context.Context, s conn.Session) error {
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: disable{}}); err != nil {
		return fmt.Errorf("disable carbons: %w", err)
	}
	return nil
}

// Direction says which way a carbon-copied message went.
type Direction string

// Carbon directions.
const (
	Received Direction = "received" // another of our sessions received it
	Sent     Direction = "sent"     // another of our sessions sent it
)

// Carbon is an unwrapped copy.
type Carbon struct {
	Direction Direction
	Stamp     time.Time // from the forwarded <delay/>, if any
	Message   *stanza.Message
}

// ErrForged reports a carbon that did not come from our own bare JID
// (XEP-0280 §11: anyone can send a message that looks like a carbon).
var ErrForged = errors.New("carbon not sent by our own account: ignored")

// Parse unwraps m if it is a carbon. ok is false for ordinary messages;
// err is ErrForged for a carbon from anyone but self (our bare JID), or a
// decoding error.
func Parse(m *stanza.Message, self string) (c *Carbon, ok bool, err error) {
	for _, dir := range []Direction{Received, Sent} {
		el, found := stanza.Find(m.Ext, NS, string(dir))
		if !found {
			continue
		}
		// From our bare JID exactly: a full JID (any resource) is forged.
		if stanza.FullJID(m.From) != stanza.BareJID(self) {
			return nil, true, ErrForged
		}
		f, err := forward.Find(el.Inner)
		if err != nil {
			return nil, true, fmt.Errorf("carbon: %w", err)
		}
		return &Carbon{Direction: dir, Stamp: f.Stamp, Message: f.Message}, true, nil
	}
	return nil, false, nil
}
