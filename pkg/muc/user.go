package muc

import (
	"strconv"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NSOccupantID is XEP-0421 Anonymous unique occupant identifiers.
const NSOccupantID = "urn:xmpp:occupant-id:0"

// Status is a muc#user status code (XEP-0045 §15.6.2).
type Status int

// Status codes a listener acts on.
const (
	StatusNonAnonymous  Status = 100 // the room shows real JIDs to everyone
	StatusSelf          Status = 110 // this presence is about us
	StatusCreated       Status = 201 // a new room was created
	StatusBanned        Status = 301
	StatusNickChanged   Status = 303
	StatusKicked        Status = 307
	StatusAffiliation   Status = 321 // removed: affiliation change (members-only)
	StatusMembersOnly   Status = 322 // removed: the room became members-only
	StatusShutdown      Status = 332 // removed: the service is shutting down
	StatusRemovedByPing Status = 333 // removed: the service found us gone (XEP-0410)
)

// User is the <x xmlns='http://jabber.org/protocol/muc#user'/> of a
// presence or message from a room.
type User struct {
	Affiliation Affiliation
	Role        string
	JID         string // the occupant's real JID, when the room shows it
	Reason      string
	Statuses    []Status
	Destroyed   bool   // the room was destroyed (<destroy/>)
	DestroyWhy  string // the owner's reason for destroying it
}

type userX struct {
	Items []struct {
		Affiliation string `xml:"affiliation,attr"`
		Role        string `xml:"role,attr"`
		JID         string `xml:"jid,attr"`
		Reason      string `xml:"reason"`
	} `xml:"item"`
	Statuses []struct {
		Code string `xml:"code,attr"`
	} `xml:"status"`
	Destroy *struct {
		Reason string `xml:"reason"`
	} `xml:"destroy"`
}

// ParseUser finds and decodes the muc#user element among a stanza's
// children; ok is false when there is none (or it does not parse).
func ParseUser(ext []stanza.Element) (User, bool) {
	el, ok := stanza.Find(ext, stanza.NSMUCUser, "x")
	if !ok {
		return User{}, false
	}
	var x userX
	if el.Decode(&x) != nil {
		return User{}, false
	}
	var u User
	if len(x.Items) > 0 {
		it := x.Items[0]
		u.Affiliation, u.Role, u.JID, u.Reason = Affiliation(it.Affiliation), it.Role, it.JID, it.Reason
	}
	for _, s := range x.Statuses {
		if n, err := strconv.Atoi(s.Code); err == nil && n >= 100 && n <= 999 {
			u.Statuses = append(u.Statuses, Status(n))
		}
	}
	if x.Destroy != nil {
		u.Destroyed, u.DestroyWhy = true, x.Destroy.Reason
	}
	return u, true
}

// Has reports whether the status code is present.
func (u User) Has(s Status) bool {
	for _, c := range u.Statuses {
		if c == s {
			return true
		}
	}
	return false
}

// OccupantID returns the XEP-0421 occupant id the room stamped on a
// stanza, or "".
func OccupantID(ext []stanza.Element) string {
	if el, ok := stanza.Find(ext, NSOccupantID, "occupant-id"); ok {
		return el.Attr("id")
	}
	return ""
}

// Removal says why the room no longer has us as an occupant.
type Removal int

// Removals. The first three end a listener's stay in the room; the
// others are worth a rejoin.
const (
	RemovedKicked    Removal = iota + 1 // a moderator kicked us
	RemovedBanned                       // an admin banned us
	RemovedDestroyed                    // the owner destroyed the room
	RemovedMembers                      // not a member (any more) of a members-only room
	RemovedShutdown                     // the service is shutting down
	RemovedOther                        // dropped for another reason (e.g. the service lost us)
)

// Final reports whether rejoining is pointless or unwelcome.
func (r Removal) Final() bool {
	return r == RemovedKicked || r == RemovedBanned || r == RemovedDestroyed || r == RemovedMembers
}

func (r Removal) String() string {
	switch r {
	case RemovedKicked:
		return "kicked"
	case RemovedBanned:
		return "banned"
	case RemovedDestroyed:
		return "room destroyed"
	case RemovedMembers:
		return "removed: the room is members-only"
	case RemovedShutdown:
		return "the service is shutting down"
	}
	return "removed by the room"
}

// WhyRemoved classifies our own unavailable presence from a room.
func WhyRemoved(u User) Removal {
	switch {
	case u.Destroyed:
		return RemovedDestroyed
	case u.Has(StatusBanned) || u.Affiliation == AffOutcast:
		return RemovedBanned
	case u.Has(StatusKicked):
		return RemovedKicked
	case u.Has(StatusAffiliation) || u.Has(StatusMembersOnly):
		return RemovedMembers
	case u.Has(StatusShutdown):
		return RemovedShutdown
	}
	return RemovedOther
}
