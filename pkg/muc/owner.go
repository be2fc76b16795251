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

// NSOwner is the namespace of XEP-0045 owner requests.
const NSOwner = "http://jabber.org/protocol/muc#owner"

// FormTypeConfig is the FORM_TYPE of the room configuration form.
const FormTypeConfig = "http://jabber.org/protocol/muc#roomconfig"

// Config is the room configuration xmppctl sets; nil fields are left as
// the room has them.
type Config struct {
	Name         *string
	Description  *string
	Persistent   *bool
	MembersOnly  *bool
	NonAnonymous *bool
	Public       *bool   // listed in the service's room list
	Password     *string // "" removes the password
}

// fields turns the config into submitted form fields.
func (c Config) fields() []disco.Field {
	fs := []disco.Field{{Var: "FORM_TYPE", Type: "hidden", Values: []string{FormTypeConfig}}}
	add := func(v string, val string) { fs = append(fs, disco.Field{Var: v, Values: []string{val}}) }
	bit := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	if c.Name != nil {
		add("muc#roomconfig_roomname", *c.Name)
	}
	if c.Description != nil {
		add("muc#roomconfig_roomdesc", *c.Description)
	}
	if c.Persistent != nil {
		add("muc#roomconfig_persistentroom", bit(*c.Persistent))
	}
	if c.MembersOnly != nil {
		add("muc#roomconfig_membersonly", bit(*c.MembersOnly))
	}
	if c.NonAnonymous != nil {
		who := "moderators"
		if *c.NonAnonymous {
			who = "anyone"
		}
		add("muc#roomconfig_whois", who)
	}
	if c.Public != nil {
		add("muc#roomconfig_publicroom", bit(*c.Public))
	}
	if c.Password != nil {
		add("muc#roomconfig_passwordprotectedroom", bit(*c.Password != ""))
		add("muc#roomconfig_roomsecret", *c.Password)
	}
	return fs
}

type ownerQuery struct {
	XMLName xml.Name    `xml:"http://jabber.org/protocol/muc#owner query"`
	Form    *disco.Form `xml:"jabber:x:data x,omitempty"`
	Destroy *destroy    `xml:"destroy,omitempty"`
}

type destroy struct {
	Reason string `xml:"reason,omitempty"`
}

// Configure submits c as the room's configuration (owners only). Fields
// the room's form does not offer are reported, not silently dropped.
func Configure(ctx context.Context, s conn.Session, room string, c Config) error {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: room, Payload: ownerQuery{}})
	if err != nil {
		return fmt.Errorf("get the configuration form of %s: %w", room, err)
	}
	offered, err := formVars(resp.Query)
	if err != nil {
		return err
	}
	fs := c.fields()
	for _, f := range fs[1:] {
		if !offered[f.Var] {
			return fmt.Errorf("configure %s: the room does not offer %s", room, f.Var)
		}
	}
	form := &disco.Form{Type: "submit", Fields: fs}
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, To: room, Payload: ownerQuery{Form: form}}); err != nil {
		return fmt.Errorf("configure %s: %w", room, err)
	}
	return nil
}

func formVars(el stanza.Element) (map[string]bool, error) {
	var q struct {
		Form disco.Form `xml:"jabber:x:data x"`
	}
	if err := el.Decode(&q); err != nil {
		return nil, fmt.Errorf("parse the room configuration form: %w", err)
	}
	out := map[string]bool{}
	for _, f := range q.Form.Fields {
		out[f.Var] = true
	}
	return out, nil
}

// Destroy destroys room (owners only); reason is shown to the occupants.
func Destroy(ctx context.Context, s conn.Session, room, reason string) error {
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, To: room, Payload: ownerQuery{Destroy: &destroy{Reason: reason}}}); err != nil {
		return fmt.Errorf("destroy %s: %w", room, err)
	}
	return nil
}

// ErrExists reports that Create found the room already there.
var ErrExists = errors.New("the room already exists")

// Create makes room with our nick as its owner and configures it. When
// the room exists, it is configured only with reconfigure (and we must own
// it), else Create returns ErrExists. We leave the room afterwards.
func Create(ctx context.Context, s conn.Session, room, nick string, c Config, reconfigure bool) (created bool, err error) {
	_, err = disco.GetInfo(ctx, s, room, "")
	var se *stanza.Error
	switch {
	case err == nil:
		if !reconfigure {
			return false, fmt.Errorf("create %s: %w", room, ErrExists)
		}
		return false, Configure(ctx, s, room, c)
	case !errors.As(err, &se) || se.Condition != stanza.ItemNotFound:
		return false, fmt.Errorf("create %s: %w", room, err)
	}
	if err := enter(ctx, s, room, nick, ""); err != nil {
		return false, err
	}
	defer func() { _ = Leave(context.WithoutCancel(ctx), s, room, nick) }()
	// A new room stays locked until its owner submits a configuration.
	return true, Configure(ctx, s, room, c)
}
