package muc

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NSAdmin is the namespace of XEP-0045 admin requests.
const NSAdmin = "http://jabber.org/protocol/muc#admin"

// Affiliation is a long-lived relation of a JID to a room.
type Affiliation string

// Affiliations (XEP-0045 §5.2).
const (
	AffOwner   Affiliation = "owner"
	AffAdmin   Affiliation = "admin"
	AffMember  Affiliation = "member"
	AffNone    Affiliation = "none"
	AffOutcast Affiliation = "outcast"
)

// ParseAffiliation checks a user-given affiliation.
func ParseAffiliation(s string) (Affiliation, error) {
	switch a := Affiliation(s); a {
	case AffOwner, AffAdmin, AffMember, AffNone, AffOutcast:
		return a, nil
	}
	return "", fmt.Errorf("invalid affiliation %q: want member, admin, owner, none or outcast", s)
}

type adminItem struct {
	XMLName     xml.Name    `xml:"item"`
	Affiliation Affiliation `xml:"affiliation,attr,omitempty"`
	Role        string      `xml:"role,attr,omitempty"`
	JID         string      `xml:"jid,attr,omitempty"`
	Nick        string      `xml:"nick,attr,omitempty"`
	Reason      string      `xml:"reason,omitempty"`
}

type adminQuery struct {
	XMLName xml.Name    `xml:"http://jabber.org/protocol/muc#admin query"`
	Items   []adminItem `xml:"item"`
}

// Member is one entry of an affiliation list.
type Member struct {
	JID         string      `json:"jid"`
	Affiliation Affiliation `json:"affiliation"`
	Nick        string      `json:"nick,omitempty"`
}

// SetAffiliation gives jid the affiliation a in room (admins and owners
// only); reason is optional.
func SetAffiliation(ctx context.Context, s conn.Session, room, jid string, a Affiliation, reason string) error {
	q := adminQuery{Items: []adminItem{{Affiliation: a, JID: jid, Reason: reason}}}
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, To: room, Payload: q}); err != nil {
		return fmt.Errorf("set the affiliation of %s in %s: %w", jid, room, err)
	}
	return nil
}

// Affiliations lists the JIDs that have affiliation a in room.
func Affiliations(ctx context.Context, s conn.Session, room string, a Affiliation) ([]Member, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: room, Payload: adminQuery{Items: []adminItem{{Affiliation: a}}}})
	if err != nil {
		return nil, fmt.Errorf("list the %ss of %s: %w", a, room, err)
	}
	return ParseAffiliations(resp.Query)
}

// ParseAffiliations decodes an admin query result.
func ParseAffiliations(el stanza.Element) ([]Member, error) {
	if el.XMLName.Local == "" {
		return nil, nil
	}
	var q adminQuery
	if err := el.Decode(&q); err != nil {
		return nil, fmt.Errorf("parse affiliation list: %w", err)
	}
	var out []Member
	for _, it := range q.Items {
		if it.JID == "" {
			continue
		}
		out = append(out, Member{JID: it.JID, Affiliation: it.Affiliation, Nick: it.Nick})
	}
	return out, nil
}
