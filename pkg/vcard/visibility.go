package vcard

import (
	"context"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/avatar"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/nick"
	"github.com/xmppctl/xmppctl/pkg/pep"
)

// Visibility is the one profile setting users choose; it decides the
// access models of the avatar and nickname nodes (always the same) and
// of the vCard4 node.
type Visibility string

// The three visibilities.
const (
	Contacts         Visibility = "contacts"           // everything: contacts only (presence)
	PublicAvatarNick Visibility = "public-avatar-nick" // avatar and nickname open, profile contacts only
	Public           Visibility = "public"             // everything open
)

// Visibilities lists them in order of exposure.
var Visibilities = []Visibility{Contacts, PublicAvatarNick, Public}

// AvatarNickNodes are the nodes that always share one access model.
var AvatarNickNodes = []string{avatar.NSData, avatar.NSMetadata, nick.NS}

// ParseVisibility validates a visibility given by the user.
func ParseVisibility(s string) (Visibility, error) {
	v := Visibility(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Visibilities {
		if v == known {
			return v, nil
		}
	}
	return "", fmt.Errorf("invalid visibility %q: want contacts, public-avatar-nick or public", s)
}

// Models returns the access models of the avatar/nick nodes and of the
// profile node.
func (v Visibility) Models() (avatarNick, profile pep.AccessModel) {
	switch v {
	case Public:
		return pep.Open, pep.Open
	case PublicAvatarNick:
		return pep.Open, pep.Presence
	}
	return pep.Presence, pep.Presence
}

// Classify names the visibility matching the models, or "" for a
// combination that is none of the three.
func Classify(avatarNick, profile pep.AccessModel) Visibility {
	for _, v := range Visibilities {
		if a, p := v.Models(); a == avatarNick && p == profile {
			return v
		}
	}
	return ""
}

// NodeAccess is one node's access model as read from the server.
type NodeAccess struct {
	Node   string          `json:"node"`
	Access pep.AccessModel `json:"access"`
	Exists bool            `json:"exists"`
}

// SetVisibility gives every profile node the visibility's model. Nodes
// that do not exist yet are created with it, so that a later publish that
// keeps the current model keeps this one.
func SetVisibility(ctx context.Context, s conn.Session, v Visibility) error {
	an, prof := v.Models()
	for _, node := range AvatarNickNodes {
		if err := pep.EnsureAccess(ctx, s, node, an); err != nil {
			return err
		}
	}
	return pep.EnsureAccess(ctx, s, Node4, prof)
}

// GetVisibility reads the access model of every profile node; nodes that
// do not exist count as the server's default (presence). The visibility
// is "" when the nodes disagree with all three settings.
func GetVisibility(ctx context.Context, s conn.Session) (Visibility, []NodeAccess, error) {
	var nodes []NodeAccess
	for _, node := range append(append([]string{}, AvatarNickNodes...), Node4) {
		m, err := pep.Access(ctx, s, node)
		na := NodeAccess{Node: node, Access: m, Exists: true}
		if pep.IsNotFound(err) {
			na.Access, na.Exists = pep.Presence, false
		} else if err != nil {
			return "", nil, err
		}
		nodes = append(nodes, na)
	}
	an := nodes[0].Access
	for _, n := range nodes[1:3] {
		if n.Access != an {
			return "", nodes, nil
		}
	}
	return Classify(an, nodes[3].Access), nodes, nil
}
