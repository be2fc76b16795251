package muc

import (
	"context"
	"encoding/xml"
	"errors"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NSSelfPing is the feature of XEP-0410 MUC Self-Ping (Schrödinger's
// Chat); the ping itself is XEP-0199.
const NSSelfPing = "http://jabber.org/protocol/muc#self-ping-optimization"

// PingResult is what a self-ping found.
type PingResult int

// Self-ping outcomes (XEP-0410 §3.2).
const (
	StillJoined PingResult = iota // the room still has us
	NotJoined                     // the room dropped us: rejoin
	Unknown                       // no verdict (the room's server is unreachable): try later
)

type ping struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}

// SelfPing pings our own occupant JID (room/nick): the room answers for
// us, or routes the ping to our client, when we are joined and answers
// with an error when we are not. Errors other than the room's verdict
// (ctx, connection) are returned as such.
func SelfPing(ctx context.Context, s conn.Session, room, nick string) (PingResult, error) {
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: room + "/" + nick, ID: conn.NewID(), Payload: ping{}})
	if err == nil {
		return StillJoined, nil
	}
	var se *stanza.Error
	if !errors.As(err, &se) {
		return Unknown, err
	}
	return pingVerdict(se.Condition), nil
}

func pingVerdict(cond stanza.Condition) PingResult {
	switch cond {
	case stanza.ServiceUnavailable, stanza.FeatureNotImplemented:
		// Joined; the ping reached a client that does not answer pings.
		return StillJoined
	case stanza.RemoteServerNotFound, stanza.RemoteServerTimeout:
		return Unknown
	}
	// not-acceptable (not an occupant), item-not-found (nick gone or room
	// gone) and anything else: not joined as far as the room knows.
	return NotJoined
}
