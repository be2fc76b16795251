package outbox

import (
	"context"
	"time"

	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Why the archive is asked before sending again: without XEP-0198
// resumption (go-xmpp has none) the client cannot learn what the server
// handled after its last <a/>. A message the server handled is in the
// account's own archive (XEP-0313 keeps the outgoing side of one-to-one
// chats), under our origin-id; one found there is sent, and sending it
// again would only deliver it twice. What the archive cannot answer for
// (rooms, headlines, a server without MAM, an error) is sent again, with
// the same ids.

// archiveSkew widens the archive window for a server clock behind ours.
const archiveSkew = 2 * time.Minute

// markArchived marks as sent the pending messages found in the account's
// archive.
func (o *Outbox) markArchived(ctx context.Context) {
	byPeer := map[string]map[string]*Result{}
	var since time.Time
	for _, r := range o.order {
		if r.Status != StatusSending || !r.wrote || !archivable(r.Message.Type) {
			continue
		}
		peer := stanza.BareJID(r.To)
		if byPeer[peer] == nil {
			byPeer[peer] = map[string]*Result{}
		}
		byPeer[peer][r.ID] = r
		if since.IsZero() || r.written.Before(since) {
			since = r.written
		}
	}
	self := stanza.BareJID(o.s.JID())
	for peer, pending := range byPeer {
		qctx, cancel := context.WithCancel(ctx)
		it := mam.NewIterator(o.s, mam.Query{With: peer, Start: since.Add(-archiveSkew), Timeout: o.BatchTimeout})
		for it.Next(qctx) {
			for _, res := range it.Page().Results {
				m := res.Message
				if m == nil || stanza.BareJID(m.From) != self {
					continue
				}
				if r := pending[originID(m)]; r != nil {
					r.Status = StatusSent
				}
			}
		}
		it.Close()
		cancel()
	}
	o.settle()
}

// archivable: the message types an account archive keeps for the sender.
func archivable(typ stanza.MessageType) bool {
	return typ == stanza.ChatMessage || typ == stanza.NormalMessage || typ == ""
}

func originID(m *stanza.Message) string {
	if o, ok := stanza.Find(m.Ext, stanza.NSSID, "origin-id"); ok && o.Attr("id") != "" {
		return o.Attr("id")
	}
	return m.ID
}
