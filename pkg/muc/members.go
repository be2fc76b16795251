package muc

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

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

// Members returns the bare JIDs of the room's members, admins and owners
// (the room's member list), sorted, without duplicates.
func Members(ctx context.Context, s conn.Session, room string) ([]string, error) {
	var out []string
	for _, aff := range []Affiliation{AffMember, AffAdmin, AffOwner} {
		list, err := Affiliations(ctx, s, room, aff)
		if err != nil {
			return nil, fmt.Errorf("member list of %s: %w", room, err)
		}
		out = append(out, MemberJIDs(list)...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MemberJIDs returns the bare JIDs of an affiliation list, lowercased,
// leaving out entries that are not user JIDs (a room may list a server).
func MemberJIDs(list []Member) []string {
	var out []string
	for _, m := range list {
		if j := stanza.BareJID(strings.TrimSpace(m.JID)); j != "" && strings.Contains(j, "@") {
			out = append(out, j)
		}
	}
	return out
}
