package muc

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
)

// FormTypeRoomInfo is the FORM_TYPE of a room's extended disco#info.
const FormTypeRoomInfo = "http://jabber.org/protocol/muc#roominfo"

// Info is what a room says about itself.
type Info struct {
	JID         string   `json:"jid"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Subject     string   `json:"subject,omitempty"`
	Occupants   int      `json:"occupants"` // -1 when the room does not say
	Features    []string `json:"features"`  // members-only, moderated, ... (muc_ prefix removed)
	Language    string   `json:"language,omitempty"`
}

// Has reports whether the room has the feature (e.g. "membersonly").
func (i Info) Has(feature string) bool {
	for _, f := range i.Features {
		if f == feature {
			return true
		}
	}
	return false
}

// GetInfo asks room for its disco#info.
func GetInfo(ctx context.Context, s conn.Session, room string) (Info, error) {
	d, err := disco.GetInfo(ctx, s, room, "")
	if err != nil {
		return Info{}, err
	}
	return FromDisco(d)
}

// FromDisco reads room information from a disco#info result.
func FromDisco(d *disco.Info) (Info, error) {
	if !d.HasIdentity("conference", "") {
		return Info{}, fmt.Errorf("%s is not a room (no conference identity)", d.JID)
	}
	i := Info{JID: d.JID, Occupants: -1, Features: []string{}}
	for _, id := range d.Identities {
		if id.Category == "conference" && id.Name != "" && i.Name == "" {
			i.Name = id.Name
		}
	}
	for _, f := range d.Features {
		if name, ok := strings.CutPrefix(f, "muc_"); ok && name != "" {
			i.Features = append(i.Features, name)
		}
	}
	sort.Strings(i.Features)
	if f, ok := d.Form(FormTypeRoomInfo); ok {
		i.Description = f.Value("muc#roominfo_description")
		i.Subject = f.Value("muc#roominfo_subject")
		i.Language = f.Value("muc#roominfo_lang")
		if n, err := strconv.Atoi(f.Value("muc#roominfo_occupants")); err == nil && n >= 0 {
			i.Occupants = n
		}
		if name := f.Value("muc#roomconfig_roomname"); name != "" {
			i.Name = name
		}
	}
	return i, nil
}

// Room is one entry of a service's room list.
type Room struct {
	JID  string `json:"jid"`
	Name string `json:"name,omitempty"`
}

// List walks the public rooms of a MUC service (disco#items, paged);
// each is passed to fn.
func List(ctx context.Context, s conn.Session, service string, fn func(Room) error) error {
	it := disco.NewItemIter(s, service, "")
	defer it.Close()
	for it.Next(ctx) {
		item := it.Item()
		if err := fn(Room{JID: item.JID, Name: item.Name}); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("list the rooms of %s: %w", service, err)
	}
	return nil
}
