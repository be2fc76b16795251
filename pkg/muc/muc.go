package muc

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS is the XEP-0045 namespace of the join element.
const NS = stanza.NSMUC

// joinX is <x xmlns='http://jabber.org/protocol/muc'/> with no history
// requested (a notification sender does not want the backlog).
type joinX struct {
	XMLName  xml.Name `xml:"http://jabber.org/protocol/muc x"`
	History  history  `xml:"history"`
	Password string   `xml:"password,omitempty"`
}

type history struct {
	MaxStanzas int `xml:"maxstanzas,attr"`
}

// JoinError explains why a room could not be joined.
type JoinError struct {
	Room string
	Err  *stanza.Error
}

func (e *JoinError) Error() string {
	why := map[stanza.Condition]string{
		stanza.NotAuthorized:        "a password is required or wrong",
		stanza.RegistrationRequired: "the room is members-only",
		stanza.Forbidden:            "you are banned from the room",
		stanza.Conflict:             "the nickname is in use",
		stanza.ServiceUnavailable:   "the room is full",
		stanza.ItemNotFound:         "the room does not exist",
		stanza.NotAllowed:           "room creation is not allowed",
		stanza.RemoteServerNotFound: "the room's server cannot be reached",
	}[e.Err.Condition]
	msg := fmt.Sprintf("join %s: %s", e.Room, e.Err.Condition)
	if why != "" {
		msg += " (" + why + ")"
	}
	return msg
}

// Unwrap exposes the stanza error (exit status "refused by remote").
func (e *JoinError) Unwrap() error { return e.Err }

// Join enters room as nick and returns once the server has sent our own
// presence back (the join is complete), or the error presence. It first
// asks the room for disco#info so that a missing room is reported instead
// of silently created.
func Join(ctx context.Context, s conn.Session, room, nick, password string) error {
	if _, err := disco.GetInfo(ctx, s, room, ""); err != nil {
		var se *stanza.Error
		if errors.As(err, &se) {
			return &JoinError{Room: room, Err: se}
		}
		return fmt.Errorf("join %s: %w", room, err)
	}
	return enter(ctx, s, room, nick, password)
}

// enter sends the join presence and waits for the room's answer.
func enter(ctx context.Context, s conn.Session, room, nick, password string) error {
	sub := s.Subscribe()
	defer sub.Close()
	full := room + "/" + nick
	p := stanza.Presence{To: full, Payload: []any{joinX{Password: password}}}
	if err := s.Send(ctx, p); err != nil {
		return err
	}
	for {
		st, err := sub.Next(ctx)
		if err != nil {
			return fmt.Errorf("join %s: %w", room, err)
		}
		pr, ok := st.(*stanza.Presence)
		if !ok {
			continue
		}
		// go-xmpp drops status code 110, so our own presence is the one
		// from room/nick; the server may only rewrite the nick, which a
		// sender does not do.
		if !stanza.SameBare(pr.From, room) {
			continue
		}
		switch {
		case pr.Type == stanza.ErrorPresence:
			return &JoinError{Room: room, Err: pr.Error}
		case pr.From == full && pr.Type == stanza.AvailablePresence:
			return nil
		}
	}
}

// Leave sends unavailable presence to the room.
func Leave(ctx context.Context, s conn.Session, room, nick string) error {
	return s.Send(ctx, stanza.Presence{To: room + "/" + nick, Type: stanza.UnavailablePresence})
}
