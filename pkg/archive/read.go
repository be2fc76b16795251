package archive

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/markers"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// ErrNoID is returned for a message that cannot be marked: XEP-0333
// markers name a one-to-one message by its 'id' attribute, and it had
// none.
var ErrNoID = errors.New("the message has no id, so no displayed marker can name it (XEP-0333)")

// NSHints is XEP-0334 Message Processing Hints: a displayed marker
// carries <store/> because it has no body, and servers that archive only
// messages with content (ejabberd's mod_mam) would otherwise leave it out
// of MAM, where our other devices look for the read point.
const NSHints = "urn:xmpp:hints"

// DisplayedMarker builds the XEP-0333 displayed marker for a stored
// incoming one-to-one message: to the peer's bare JID (the marker is
// meant for all its devices, and the server copies it to ours as a sent
// carbon), naming the message by its 'id' attribute, with an origin-id
// so that its archived copy is recognised as the one recorded here, and a
// XEP-0334 store hint so that it is archived at all.
func DisplayedMarker(m *store.Message) (stanza.Message, error) {
	if m.MsgID == "" {
		return stanza.Message{}, ErrNoID
	}
	typ := stanza.MessageType(m.Type)
	if typ == stanza.NormalMessage {
		typ = ""
	}
	// Ext rather than typed payloads: Record (via Sent) reads Ext, so the
	// local record carries the marker and the origin-id.
	el := func(space, local, id string) stanza.Element {
		return stanza.Element{XMLName: xml.Name{Space: space, Local: local},
			Attrs: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: id}}}
	}
	return stanza.Message{ID: conn.NewID(), To: m.With, Type: typ, Ext: []stanza.Element{
		el(markers.NS, markers.KindDisplayed, m.MsgID), el(stanza.NSSID, "origin-id", conn.NewID()),
		{XMLName: xml.Name{Space: NSHints, Local: "store"}}}}, nil
}

// MarkDisplayed sends a displayed marker for m, waits until the server
// has processed it and records it in the store as a sent message (its
// archived copy merges with it), which is what the store's read point
// (store.Unread) counts.
func MarkDisplayed(ctx context.Context, s conn.Session, st *store.Store, self Self, m *store.Message) (stanza.Message, error) {
	mk, err := DisplayedMarker(m)
	if err != nil {
		return mk, err
	}
	if err := s.Send(ctx, mk); err != nil {
		return mk, fmt.Errorf("send displayed marker: %w", err)
	}
	if err := s.Flush(ctx); err != nil {
		return mk, fmt.Errorf("send displayed marker: %w", err)
	}
	return mk, Sent(ctx, st, self, s.JID(), time.Now().UTC(), mk)
}
