package muc

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NSAdmin is XEP-0045's admin namespace (affiliation lists).
const NSAdmin = "http://jabber.org/protocol/muc#admin"

// Room features of XEP-0045 §17.2 that end-to-end encryption depends on.
const (
	FeatureNonAnonymous = "muc_nonanonymous"
	FeatureMembersOnly  = "muc_membersonly"
)

// Private reports whether a room is non-anonymous and members-only: the
// only kind in which a sender knows every reader's real JID (OMEMO
// encrypts to their devices). why says what is missing.
func Private(ctx context.Context, s conn.Session, room string) (ok bool, why string, err error) {
	info, err := disco.GetInfo(ctx, s, room, "")
	if err != nil {
		return false, "", fmt.Errorf("room %s: %w", room, err)
	}
	var missing []string
	if !info.HasFeature(FeatureNonAnonymous) {
		missing = append(missing, "anonymous (members' real JIDs are hidden)")
	}
	if !info.HasFeature(FeatureMembersOnly) {
		missing = append(missing, "open to non-members")
	}
	return len(missing) == 0, strings.Join(missing, " and "), nil
}

type adminQuery struct {
	XMLName xml.Name    `xml:"http://jabber.org/protocol/muc#admin query"`
	Items   []adminItem `xml:"item"`
}

type adminItem struct {
	Affiliation string `xml:"affiliation,attr,omitempty"`
	JID         string `xml:"jid,attr,omitempty"`
}

// Members returns the bare JIDs of the room's members, admins and owners
// (the room's member list), sorted, without duplicates.
func Members(ctx context.Context, s conn.Session, room string) ([]string, error) {
	var out []string
	for _, aff := range []string{"member", "admin", "owner"} {
		resp, err := s.SendIQ(ctx, stanza.IQ{Type: "get", To: room,
			Payload: adminQuery{Items: []adminItem{{Affiliation: aff}}}})
		if err != nil {
			return nil, fmt.Errorf("member list of %s: %w", room, err)
		}
		jids, err := ParseAffiliations(resp.Query)
		if err != nil {
			return nil, fmt.Errorf("member list of %s: %w", room, err)
		}
		out = append(out, jids...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ParseAffiliations reads the bare JIDs of a muc#admin query result.
func ParseAffiliations(el stanza.Element) ([]string, error) {
	if el.XMLName.Local == "" {
		return nil, nil
	}
	var q adminQuery
	if err := el.Decode(&q); err != nil {
		return nil, err
	}
	var out []string
	for _, it := range q.Items {
		if j := strings.ToLower(bareOf(strings.TrimSpace(it.JID))); j != "" && strings.Contains(j, "@") {
			out = append(out, j)
		}
	}
	return out, nil
}
