package muc

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NSConference is XEP-0249 Direct MUC Invitations.
const NSConference = "jabber:x:conference"

// Invitation is a XEP-0249 direct invitation.
type Invitation struct {
	XMLName  xml.Name `xml:"jabber:x:conference x"`
	Room     string   `xml:"jid,attr"`
	Password string   `xml:"password,attr,omitempty"`
	Reason   string   `xml:"reason,attr,omitempty"`
}

// Invite sends a direct invitation to room to each JID (the server
// acknowledges them with one flush). The room needs not be joined.
func Invite(ctx context.Context, s conn.Session, room, password, reason string, to ...string) error {
	for _, j := range to {
		m := stanza.Message{ID: conn.NewID(), To: j, Payload: []any{Invitation{Room: room, Password: password, Reason: reason}}}
		if err := s.Send(ctx, m); err != nil {
			return fmt.Errorf("invite %s: %w", j, err)
		}
	}
	return s.Flush(ctx)
}

// ParseInvitation finds a direct invitation among a message's children.
func ParseInvitation(ext []stanza.Element) (Invitation, bool) {
	el, ok := stanza.Find(ext, NSConference, "x")
	if !ok {
		return Invitation{}, false
	}
	var inv Invitation
	if el.Decode(&inv) != nil || inv.Room == "" {
		return Invitation{}, false
	}
	return inv, true
}

// SetSubject changes the room's subject: it joins as nick, sends the
// subject and waits for the room to reflect it (or refuse), then leaves.
func SetSubject(ctx context.Context, s conn.Session, room, nick, password, subject string) error {
	if err := Join(ctx, s, room, nick, password); err != nil {
		return err
	}
	defer func() { _ = Leave(context.WithoutCancel(ctx), s, room, nick) }()
	sub := s.Subscribe()
	defer sub.Close()
	id := conn.NewID()
	if err := s.Send(ctx, stanza.Message{ID: id, To: room, Type: stanza.GroupChatMessage, Subject: subject}); err != nil {
		return err
	}
	for {
		st, err := sub.Next(ctx)
		if err != nil {
			return fmt.Errorf("set the subject of %s: %w", room, err)
		}
		m, ok := st.(*stanza.Message)
		if !ok || !stanza.SameBare(m.From, room) {
			continue
		}
		switch {
		case m.Type == stanza.ErrorMessage && (m.ID == id || m.ID == ""):
			e := m.Error
			if e == nil {
				e = &stanza.Error{Condition: stanza.UndefinedCondition}
			}
			return fmt.Errorf("set the subject of %s: %w", room, e)
		case m.Type == stanza.GroupChatMessage && m.Body == "" && m.Subject == subject:
			return nil
		}
	}
}
