package blocking

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// ErrUnsupported is returned when the server does not advertise blocking.
var ErrUnsupported = errors.New("the server does not support blocking (XEP-0191)")

type item struct {
	JID string `xml:"jid,attr"`
}

// blocklist is the query and its result.
type blocklist struct {
	XMLName xml.Name `xml:"urn:xmpp:blocking blocklist"`
	Items   []item   `xml:"item"`
}

type block struct {
	XMLName xml.Name `xml:"urn:xmpp:blocking block"`
	Items   []item   `xml:"item"`
}

type unblock struct {
	XMLName xml.Name `xml:"urn:xmpp:blocking unblock"`
	Items   []item   `xml:"item"`
}

// Supported reports whether the account's server advertises XEP-0191.
func Supported(ctx context.Context, s conn.Session) (bool, error) {
	info, err := disco.GetInfo(ctx, s, s.Domain(), "")
	if err != nil {
		return false, err
	}
	return info.HasFeature(NS), nil
}

// List asks the server for the blocklist. It always asks: another device
// may have changed the list since. Asking also makes the server send this
// session pushes of later changes; HandlePushes acknowledges them.
func List(ctx context.Context, s conn.Session) ([]string, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, Payload: blocklist{}})
	if err != nil {
		return nil, fmt.Errorf("get blocklist: %w", err)
	}
	return ParseList(resp.Query)
}

// ParseList decodes a blocklist result payload.
func ParseList(el stanza.Element) ([]string, error) {
	if el.XMLName.Local == "" {
		return nil, nil
	}
	var bl blocklist
	if err := el.Decode(&bl); err != nil {
		return nil, fmt.Errorf("parse blocklist: %w", err)
	}
	out := make([]string, 0, len(bl.Items))
	for _, it := range bl.Items {
		if it.JID != "" {
			out = append(out, it.JID)
		}
	}
	return out, nil
}

// Block adds JIDs to the blocklist. Blocking a JID that is already blocked
// is not an error.
func Block(ctx context.Context, s conn.Session, jids ...string) error {
	if len(jids) == 0 {
		return errors.New("block: no JIDs given")
	}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: block{Items: items(jids)}})
	if err != nil {
		return fmt.Errorf("block %s: %w", strings.Join(jids, ", "), err)
	}
	return nil
}

// Unblock removes JIDs from the blocklist.
func Unblock(ctx context.Context, s conn.Session, jids ...string) error {
	if len(jids) == 0 {
		return errors.New("unblock: no JIDs given (use UnblockAll)")
	}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: unblock{Items: items(jids)}})
	if err != nil {
		return fmt.Errorf("unblock %s: %w", strings.Join(jids, ", "), err)
	}
	return nil
}

// UnblockAll empties the blocklist (an <unblock/> without items).
func UnblockAll(ctx context.Context, s conn.Session) error {
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: unblock{}})
	if err != nil {
		return fmt.Errorf("unblock all: %w", err)
	}
	return nil
}

// HandlePushes acknowledges the server's blocklist pushes (XEP-0191 §3.3,
// §3.4) so that they are not answered with service-unavailable. A push
// must come from the account itself (no from, the bare JID or the
// server); others are refused.
func HandlePushes(s conn.Session) {
	bare, _, _ := strings.Cut(s.JID(), "/")
	h := func(_ context.Context, iq *stanza.IQ) (any, error) {
		if iq.Type != stanza.SetIQ || (iq.From != "" && iq.From != bare && iq.From != s.Domain()) {
			return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}
		}
		return nil, nil
	}
	s.HandleIQ(NS, "block", h)
	s.HandleIQ(NS, "unblock", h)
}

func items(jids []string) []item {
	out := make([]item, len(jids))
	for i, j := range jids {
		out[i] = item{JID: j}
	}
	return out
}
