package bookmarks

import (
	"context"
	"encoding/xml"
	"fmt"
	"sort"

	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/pep"
)

// NS is the XEP-0402 namespace, also the PEP node.
const NS = "urn:xmpp:bookmarks:1"

// Bookmark is one room the account keeps.
type Bookmark struct {
	Room     string `json:"room"`
	Name     string `json:"name,omitempty"`
	Nick     string `json:"nick,omitempty"`
	Autojoin bool   `json:"autojoin"`
	Password string `json:"-"` // never printed
	HasPass  bool   `json:"password_set,omitempty"`
}

// conference is the item payload.
type conference struct {
	XMLName  xml.Name `xml:"urn:xmpp:bookmarks:1 conference"`
	Name     string   `xml:"name,attr,omitempty"`
	Autojoin bool     `xml:"autojoin,attr,omitempty"`
	Nick     string   `xml:"nick,omitempty"`
	Password string   `xml:"password,omitempty"`
}

// publishOptions are the node settings XEP-0402 §5 asks for (the access
// model is passed separately).
var publishOptions = []pep.Field{
	{Var: "pubsub#persist_items", Values: []string{"true"}},
	{Var: "pubsub#max_items", Values: []string{"max"}},
	{Var: "pubsub#send_last_published_item", Values: []string{"never"}},
}

// List returns the account's bookmarks, sorted by room (none when the node
// does not exist).
func List(ctx context.Context, s conn.Session) ([]Bookmark, error) {
	items, err := pep.Items(ctx, s, "", NS, 0)
	if pep.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bookmarks: %w", err)
	}
	out := make([]Bookmark, 0, len(items))
	for _, it := range items {
		b, ok := Parse(it)
		if ok {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Room < out[j].Room })
	return out, nil
}

// Parse reads one item; ok is false for items that are not bookmarks.
func Parse(it pep.Item) (Bookmark, bool) {
	if !it.Payload.Is(NS, "conference") {
		return Bookmark{}, false
	}
	// The item id is the room: a bare JID with a local part.
	j, err := jid.Parse(it.ID)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		return Bookmark{}, false
	}
	var c conference
	if it.Payload.Decode(&c) != nil {
		return Bookmark{}, false
	}
	return Bookmark{Room: j.String(), Name: c.Name, Nick: c.Nick, Autojoin: c.Autojoin, Password: c.Password,
		HasPass: c.Password != ""}, true
}

// Add publishes (or replaces) the bookmark of b.Room.
func Add(ctx context.Context, s conn.Session, b Bookmark) error {
	c := conference{Name: b.Name, Autojoin: b.Autojoin, Nick: b.Nick, Password: b.Password}
	err := pep.Publish(ctx, s, NS, b.Room, c, pep.Options{Access: pep.Whitelist, Extra: publishOptions})
	if err != nil {
		return fmt.Errorf("bookmark %s: %w", b.Room, err)
	}
	return nil
}

// Remove retracts the bookmark of room.
func Remove(ctx context.Context, s conn.Session, room string) error {
	if err := pep.Retract(ctx, s, NS, room); err != nil {
		return fmt.Errorf("remove the bookmark of %s: %w", room, err)
	}
	return nil
}
