package archive

import (
	"context"
	"encoding/xml"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/carbons"
	"github.com/xmppctl/xmppctl/pkg/forward"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/markers"
	"github.com/xmppctl/xmppctl/pkg/receipts"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// NSCorrect is XEP-0308 Last Message Correction.
const NSCorrect = "urn:xmpp:message-correct:0"

// Sources of a record.
const (
	SourceMAM    = "mam"
	SourceCarbon = "carbon"
	SourceLive   = "live"
	SourceSent   = "sent"
)

// Self is who we are: the account's bare JID and, in rooms, our nickname.
type Self struct {
	Account string // bare JID
	Nick    string // room nickname, for the direction of room messages
}

type mucUserX struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#user x"`
	Item    struct {
		JID string `xml:"jid,attr"`
	} `xml:"item"`
}

// Record turns a message into what the store keeps. archiveJID is the
// archive it belongs to (the account's bare JID, or a room), stanzaID the
// archive's id when known ("" to look for a stanza-id by archiveJID in the
// message), stamp its time (zero: its <delay/>, else now). ok is false for
// messages with nothing worth keeping (errors, bare chat states).
func Record(m *stanza.Message, self Self, archiveJID, stanzaID string, stamp time.Time, source string) (*store.Message, bool) {
	if m == nil || m.Type == stanza.ErrorMessage {
		return nil, false
	}
	r := &store.Message{
		Account: store.Bare(self.Account), Archive: store.Bare(archiveJID), StanzaID: stanzaID,
		MsgID: m.ID, From: m.From, To: m.To, Type: string(m.Type),
		Body: m.Body, Subject: m.Subject, Thread: m.Thread, Source: source,
	}
	if r.Type == "" {
		r.Type = string(stanza.NormalMessage)
	}
	for _, x := range m.Ext {
		switch {
		case x.Is(stanza.NSSID, "origin-id"):
			r.OriginID = x.Attr("id")
		case x.Is(stanza.NSSID, "stanza-id"):
			// The last one the archive added: a server that did not strip
			// a sender's forged one (XEP-0359 §5) appends its own after it.
			if stanzaID == "" && strings.EqualFold(x.Attr("by"), r.Archive) {
				r.StanzaID = x.Attr("id")
			}
		case x.Is(stanza.NSOOB, "x"):
			var o struct {
				URL string `xml:"url"`
			}
			if x.Decode(&o) == nil && r.OOB == "" {
				r.OOB = strings.TrimSpace(o.URL)
			}
		case x.Is(receipts.NS, "received"):
			r.ReceiptFor = x.Attr("id")
		case x.Is(markers.NS, markers.KindReceived), x.Is(markers.NS, markers.KindDisplayed),
			x.Is(markers.NS, markers.KindAcknowledged):
			r.Marker, r.MarkerFor = x.XMLName.Local, x.Attr("id")
		case x.Is(NSCorrect, "replace"):
			r.Replace = x.Attr("id")
		}
	}
	if r.Body == "" && r.Subject == "" && r.OOB == "" && r.ReceiptFor == "" && r.Marker == "" && r.Replace == "" && !hasE2E(m) {
		return nil, false
	}
	r.Time = stamp
	if r.Time.IsZero() {
		if t, ok := forward.Stamp(m); ok {
			r.Time = t
		} else {
			r.Time = time.Now().UTC()
		}
	}
	direct(r, m, self)
	return r, true
}

// direct fills direction and peer.
func direct(r *store.Message, m *stanza.Message, self Self) {
	account := store.Bare(self.Account)
	if r.Type == string(stanza.GroupChatMessage) {
		r.With = store.Bare(m.From)
		r.Direction = store.In
		_, nick, _ := strings.Cut(m.From, "/")
		if el, ok := stanza.Find(m.Ext, stanza.NSMUCUser, "x"); ok {
			var x mucUserX
			if el.Decode(&x) == nil && x.Item.JID != "" {
				if store.Bare(x.Item.JID) == account {
					r.Direction = store.Out
				}
				return
			}
		}
		if self.Nick != "" && nick == self.Nick {
			r.Direction = store.Out
		}
		return
	}
	if store.Bare(m.From) == account || m.From == "" {
		r.Direction = store.Out
		r.With = store.Bare(m.To)
		if r.With == "" {
			r.With = account
		}
		return
	}
	r.Direction = store.In
	r.With = store.Bare(m.From)
}

// Kind says what an incoming message is.
type Kind int

// Kinds of incoming messages.
const (
	KindIgnored        Kind = iota // nothing to keep (chat state, error, archive result)
	KindLive                       // delivered to this session
	KindCarbonReceived             // copy of a message another of our devices received
	KindCarbonSent                 // copy of a message another of our devices sent
	KindForged                     // a carbon from someone else: dropped
)

// Incoming classifies a message that arrived on the session and returns
// the record to store for it (nil when there is none). Archive results
// (handled by the pager) are ignored here.
func Incoming(m *stanza.Message, self Self) (*store.Message, Kind, *stanza.Message) {
	if _, ok := stanza.Find(m.Ext, mam.NS, "result"); ok {
		return nil, KindIgnored, nil
	}
	c, isCarbon, err := carbons.Parse(m, self.Account)
	if isCarbon {
		if err != nil {
			return nil, KindForged, nil
		}
		kind := KindCarbonReceived
		if c.Direction == carbons.Sent {
			kind = KindCarbonSent
		}
		rec, ok := Record(c.Message, self, archiveOf(c.Message, self), "", c.Stamp, SourceCarbon)
		if !ok {
			return nil, kind, c.Message
		}
		return rec, kind, c.Message
	}
	rec, ok := Record(m, self, archiveOf(m, self), "", time.Time{}, SourceLive)
	if !ok {
		return nil, KindLive, m
	}
	return rec, KindLive, m
}

// archiveOf is the archive a live message belongs to: its room for
// groupchat, the account's otherwise.
func archiveOf(m *stanza.Message, self Self) string {
	if m.Type == stanza.GroupChatMessage {
		return store.Bare(m.From)
	}
	return store.Bare(self.Account)
}

// FromResult turns an archive result into a record of archiveJID.
func FromResult(r *mam.Result, self Self, archiveJID string) (*store.Message, bool) {
	return Record(r.Message, self, archiveJID, r.ID, r.Stamp, SourceMAM)
}

// Sent records messages this client has just sent (session full JID
// from), so that their archived copies, which come back from the server
// with a stanza-id, adopt these records instead of being stored twice
// (matched by origin-id, sender and recipient). A room message is
// recorded as from room/self.Nick, the sender its reflection and the
// room's archive show (matched by origin-id, which the room keeps).
// Commands that send call it after the server acknowledged the messages;
// all go in one transaction.
func Sent(ctx context.Context, st *store.Store, self Self, from string, at time.Time, msgs ...stanza.Message) error {
	return SentEncrypted(ctx, st, self, from, at, "", msgs...)
}

// SentEncrypted is Sent for messages (given in their plaintext form) that
// went out end-to-end encrypted under the namespace encryption: the local
// archive keeps the plaintext once, marked encrypted.
func SentEncrypted(ctx context.Context, st *store.Store, self Self, from string, at time.Time, encryption string, msgs ...stanza.Message) error {
	var recs []*store.Message
	for _, m := range msgs {
		m.From = from
		archiveJID := self.Account
		if m.Type == stanza.GroupChatMessage {
			archiveJID = store.Bare(m.To)
			if self.Nick != "" {
				m.From = archiveJID + "/" + self.Nick
			}
		}
		rec, ok := Record(&m, self, archiveJID, "", at, SourceSent)
		if !ok {
			continue
		}
		if rec.OriginID == "" {
			rec.OriginID = originID(m)
		}
		rec.Direction = store.Out
		rec.Encrypted = encryption
		if m.Type == stanza.GroupChatMessage {
			rec.With = archiveJID
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil
	}
	return st.Update(ctx, func(b *store.Batch) error {
		for _, rec := range recs {
			if _, err := b.Put(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// originID finds the origin-id among typed payloads of an outgoing
// message (outbox.OriginID marshals to <origin-id xmlns='urn:xmpp:sid:0'/>).
func originID(m stanza.Message) string {
	for _, p := range m.Payload {
		b, err := xml.Marshal(p)
		if err != nil {
			continue
		}
		var o struct {
			XMLName xml.Name
			ID      string `xml:"id,attr"`
		}
		if xml.Unmarshal(b, &o) == nil && o.XMLName.Space == stanza.NSSID && o.XMLName.Local == "origin-id" {
			return o.ID
		}
	}
	return ""
}

// e2eNamespaces are the end-to-end encryption elements a message may
// carry instead of a body (OMEMO 0.3 and OMEMO 2): such a message is kept
// even without a fallback body, for the Decrypter to fill in.
var e2eNamespaces = []string{"eu.siacs.conversations.axolotl", "urn:xmpp:omemo:2"}

func hasE2E(m *stanza.Message) bool {
	for _, ns := range e2eNamespaces {
		if _, ok := stanza.Find(m.Ext, ns, "encrypted"); ok {
			return true
		}
	}
	return false
}
