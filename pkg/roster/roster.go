package roster

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS is the roster namespace.
const NS = "jabber:iq:roster"

// NSPreApproval is the stream feature of servers that support
// subscription pre-approval (RFC 6121 §3.4).
const NSPreApproval = "urn:xmpp:features:pre-approval"

// Subscription is the state of a presence subscription (RFC 6121 §2.1.2.5).
type Subscription string

// Subscription states; Remove only appears in a set or a push.
const (
	None               Subscription = "none"
	To                 Subscription = "to"   // we see the contact's presence
	From               Subscription = "from" // the contact sees ours
	Both               Subscription = "both"
	SubscriptionRemove Subscription = "remove"
)

// Ask is a pending outgoing request (RFC 6121 §2.1.2.2).
type Ask string

// AskSubscribe is the only value RFC 6121 defines.
const AskSubscribe Ask = "subscribe"

// Sees reports whether the contact sees our presence (from or both).
func (s Subscription) Sees() bool { return s == From || s == Both }

// Seen reports whether we see the contact's presence (to or both).
func (s Subscription) Seen() bool { return s == To || s == Both }

// Item is one roster entry.
type Item struct {
	JID          string       `json:"jid"`
	Name         string       `json:"name,omitempty"`
	Groups       []string     `json:"groups"`
	Subscription Subscription `json:"subscription"`
	Ask          Ask          `json:"ask,omitempty"`
}

type itemXML struct {
	JID          string   `xml:"jid,attr"`
	Name         string   `xml:"name,attr,omitempty"`
	Subscription string   `xml:"subscription,attr,omitempty"`
	Ask          string   `xml:"ask,attr,omitempty"`
	Groups       []string `xml:"group"`
}

type query struct {
	XMLName xml.Name  `xml:"jabber:iq:roster query"`
	Ver     string    `xml:"ver,attr,omitempty"`
	Items   []itemXML `xml:"item"`
}

// Limits on what a roster result may hold: a server that sends more is
// broken or hostile, and the result is refused rather than buffered.
const (
	maxItems  = 100000
	maxGroups = 1000
)

// ErrNotOurs is returned for a roster push that did not come from the
// account itself (RFC 6121 §2.1.6).
var ErrNotOurs = errors.New("roster push not from the account")

// Get fetches the roster. It also makes this session "interested": the
// server sends it pushes of later changes, which HandlePushes answers.
func Get(ctx context.Context, s conn.Session) ([]Item, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, Payload: query{}})
	if err != nil {
		return nil, fmt.Errorf("get roster: %w", err)
	}
	return Parse(resp.Query)
}

// Parse decodes a roster result. Items with an invalid JID or
// subscription are dropped; an empty result (no <query/>) is an empty
// roster (RFC 6121 §2.6.3, roster versioning: "no change").
func Parse(el stanza.Element) ([]Item, error) {
	if el.XMLName.Local == "" {
		return nil, nil
	}
	if !el.Is(NS, "query") {
		return nil, fmt.Errorf("parse roster: unexpected <%s xmlns='%s'>", el.XMLName.Local, el.XMLName.Space)
	}
	var q query
	if err := el.Decode(&q); err != nil {
		return nil, fmt.Errorf("parse roster: %w", err)
	}
	if len(q.Items) > maxItems {
		return nil, fmt.Errorf("parse roster: %d items, more than %d", len(q.Items), maxItems)
	}
	out := make([]Item, 0, len(q.Items))
	for _, x := range q.Items {
		if it, ok := fromXML(x); ok && it.Subscription != SubscriptionRemove {
			out = append(out, it)
		}
	}
	return out, nil
}

// fromXML validates one item: a bare JID, a known subscription (absent
// means none), a known ask, at most maxGroups distinct groups.
func fromXML(x itemXML) (Item, bool) {
	j, err := jid.Parse(strings.TrimSpace(x.JID))
	if err != nil || j.Resourcepart() != "" {
		return Item{}, false
	}
	bare, ok := stableBare(j)
	if !ok {
		return Item{}, false
	}
	it := Item{JID: bare, Name: x.Name, Groups: []string{}, Subscription: Subscription(x.Subscription)}
	switch it.Subscription {
	case "":
		it.Subscription = None
	case None, To, From, Both, SubscriptionRemove:
	default:
		return Item{}, false
	}
	switch Ask(x.Ask) {
	case "":
	case AskSubscribe:
		it.Ask = AskSubscribe
	default:
		return Item{}, false
	}
	if len(x.Groups) > maxGroups {
		return Item{}, false
	}
	seen := map[string]bool{}
	for _, g := range x.Groups {
		if g != "" && !seen[g] {
			seen[g] = true
			it.Groups = append(it.Groups, g)
		}
	}
	return it, true
}

// stableBare returns the bare form of j if it parses again to itself:
// jid.Parse accepts some strings (e.g. "..") whose normalised form it
// then rejects, and such a JID must not reach a command line or a roster
// set.
func stableBare(j jid.JID) (string, bool) {
	s := j.Bare().String()
	again, err := jid.Parse(s)
	if err != nil || again.String() != s {
		return "", false
	}
	return s, true
}

// Find returns the item for a bare JID.
func Find(items []Item, bare string) (Item, bool) {
	for _, it := range items {
		if strings.EqualFold(it.JID, bare) {
			return it, true
		}
	}
	return Item{}, false
}

// Set adds or updates an item: its name and groups (the server keeps the
// subscription state; a set never changes it).
func Set(ctx context.Context, s conn.Session, it Item) error {
	x := itemXML{JID: it.JID, Name: it.Name, Groups: it.Groups}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: query{Items: []itemXML{x}}})
	if err != nil {
		return fmt.Errorf("add %s to the roster: %w", it.JID, err)
	}
	return nil
}

// Delete removes an item. The server also cancels the subscriptions both
// ways (RFC 6121 §2.5.2); a JID not in the roster gives item-not-found.
func Delete(ctx context.Context, s conn.Session, bare string) error {
	x := itemXML{JID: bare, Subscription: string(SubscriptionRemove)}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: query{Items: []itemXML{x}}})
	if err != nil {
		return fmt.Errorf("remove %s from the roster: %w", bare, err)
	}
	return nil
}

// ParsePush validates a roster push (RFC 6121 §2.1.6): an IQ set from the
// account itself (no 'from', or the account's bare JID) with exactly one
// item. self is the session's JID.
func ParsePush(iq *stanza.IQ, self string) (Item, error) {
	if iq.Type != stanza.SetIQ {
		return Item{}, fmt.Errorf("roster push of type %q", iq.Type)
	}
	if iq.From != "" {
		from, err := jid.Parse(iq.From)
		own, err2 := jid.Parse(self)
		if err != nil || err2 != nil || !from.Equal(own.Bare()) {
			return Item{}, ErrNotOurs
		}
	}
	if !iq.Query.Is(NS, "query") {
		return Item{}, errors.New("roster push without a roster query")
	}
	var q query
	if err := iq.Query.Decode(&q); err != nil {
		return Item{}, fmt.Errorf("parse roster push: %w", err)
	}
	if len(q.Items) != 1 {
		return Item{}, fmt.Errorf("roster push with %d items, want 1", len(q.Items))
	}
	it, ok := fromXML(q.Items[0])
	if !ok {
		return Item{}, errors.New("roster push with an invalid item")
	}
	return it, nil
}

// HandlePushes answers the server's roster pushes and passes each valid
// one to fn (which may be nil; it runs on its own goroutine per push).
// Pushes from anyone but the account are refused with
// service-unavailable, the answer that reveals nothing (RFC 6120 §8.4),
// and not passed on.
func HandlePushes(s conn.Session, fn func(Item)) {
	s.HandleIQ(NS, "query", func(_ context.Context, iq *stanza.IQ) (any, error) {
		if iq.Type != stanza.SetIQ {
			return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}
		}
		it, err := ParsePush(iq, s.JID())
		if errors.Is(err, ErrNotOurs) {
			return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}
		}
		if err != nil {
			return nil, &stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest}
		}
		if fn != nil {
			fn(it)
		}
		return nil, nil
	})
}
