package roster

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"

	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Send sends a subscription presence (stanza.SubscribePresence,
// SubscribedPresence, UnsubscribePresence or UnsubscribedPresence) to a
// bare JID. Only the server's
// acknowledgement (conn.Session.Flush) and the absence of an error
// presence show that it was accepted.
func Send(ctx context.Context, s conn.Session, to string, typ stanza.PresenceType) error {
	if err := s.Send(ctx, stanza.Presence{ID: conn.NewID(), To: to, Type: typ}); err != nil {
		return fmt.Errorf("send %s to %s: %w", typ, to, err)
	}
	return nil
}

// Request is an incoming subscription request.
type Request struct {
	JID    string `json:"jid"`
	Status string `json:"status,omitempty"` // the requester's text, untrusted
}

// ParseRequest recognises a subscription request: a presence of type
// subscribe from a valid JID other than our own account. The server
// stamps the bare JID; a full JID is reduced to it.
func ParseRequest(p *stanza.Presence, self string) (Request, bool) {
	if p == nil || p.Type != stanza.SubscribePresence {
		return Request{}, false
	}
	from, err := jid.Parse(p.From)
	if err != nil {
		return Request{}, false
	}
	bare, ok := stableBare(from)
	if !ok {
		return Request{}, false
	}
	if own, err := jid.Parse(self); err == nil && from.Bare().Equal(own.Bare()) {
		return Request{}, false
	}
	return Request{JID: bare, Status: p.Status}, true
}

// Pending returns the subscription requests the server re-delivered at
// login (see the package doc). sub must have been made right after the
// session was dialled (the first subscription of a session receives what
// arrived before it); Pending waits until the server has processed
// everything sent so far and drains the queue. Duplicates are merged.
func Pending(ctx context.Context, s conn.Session, sub conn.Subscription) ([]Request, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, fmt.Errorf("wait for subscription requests: %w", err)
	}
	var out []Request
	seen := map[string]bool{}
	for {
		st, ok := sub.Poll()
		if !ok {
			return out, nil
		}
		p, isPresence := st.(*stanza.Presence)
		if !isPresence {
			continue
		}
		if r, ok := ParseRequest(p, s.JID()); ok && !seen[r.JID] {
			seen[r.JID] = true
			out = append(out, r)
		}
	}
}

// Refused finds an error presence from one of the JIDs among the stanzas
// queued on sub (after a Flush: a refusal of what was sent before it is
// then queued) and returns the JID and the error.
func Refused(sub conn.Subscription, jids []string) map[string]error {
	want := map[string]bool{}
	for _, j := range jids {
		want[stanza.BareJID(j)] = true
	}
	out := map[string]error{}
	for {
		st, ok := sub.Poll()
		if !ok {
			return out
		}
		p, isPresence := st.(*stanza.Presence)
		if !isPresence || p.Type != stanza.ErrorPresence {
			continue
		}
		from := stanza.BareJID(p.From)
		if want[from] {
			e := p.Error
			if e == nil {
				e = &stanza.Error{Condition: stanza.UndefinedCondition}
			}
			out[from] = e
		}
	}
}

// PreApproval reports whether the server announced pre-approval support
// in its stream features (RFC 6121 §3.4.1). features are the raw
// <stream:features/> elements of the login (conn.LoginInfo).
func PreApproval(features [][]byte) bool {
	for _, f := range features {
		d := xml.NewDecoder(bytes.NewReader(f))
		d.Strict = false
		for {
			tok, err := d.Token()
			if err == io.EOF || err != nil {
				break
			}
			if st, ok := tok.(xml.StartElement); ok && st.Name.Space == NSPreApproval && st.Name.Local == "sub" {
				return true
			}
		}
	}
	return false
}
