package listen

import (
	"context"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/roster"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Subscriptions say what happens to presence subscription requests
// (RFC 6121 §3.1) that arrive while listening, including the pending ones
// the server re-delivers at each login. A request that is not approved
// stays pending on the server: "roster approve" or any client can answer
// it later.
type Subscriptions struct {
	// ApproveFrom lists bare JIDs whose requests are approved.
	ApproveFrom []string
	// ApproveRoster approves requests from JIDs already in the roster
	// (contacts we added, e.g. with "roster add --no-subscribe").
	ApproveRoster bool
	// OnRequest is told about each request once per run, after the
	// decision was carried out. It runs on the receive path.
	OnRequest func(SubscriptionEvent)
}

// SubscriptionEvent is one subscription request.
type SubscriptionEvent struct {
	From     string // bare JID
	Status   string // the requester's text (untrusted)
	Approved bool   // approved, and the server accepted the approval
	// Err is why an approval that was due failed (Approved is false).
	Err error
}

// maxRequests bounds the requests remembered for de-duplication.
const maxRequests = 10000

// presence handles an incoming presence: only subscription requests
// matter here.
func (l *Listener) presence(ctx context.Context, s conn.Session, p *stanza.Presence) error {
	req, ok := roster.ParseRequest(p, s.JID())
	if !ok {
		return nil
	}
	l.mu.Lock()
	if l.requests == nil || len(l.requests) >= maxRequests {
		// Bounded: a flood of requests from many JIDs must not grow
		// memory; forgetting only means a re-delivered one is reported
		// again after a reconnect.
		l.requests = map[string]bool{}
	}
	seen := l.requests[req.JID]
	l.requests[req.JID] = true
	l.mu.Unlock()
	if seen {
		return nil // re-delivered after a reconnect
	}
	ev := SubscriptionEvent{From: req.JID, Status: req.Status}
	approve, err := l.approves(ctx, s, req.JID)
	if err == nil && approve {
		err = l.approve(ctx, s, req.JID)
		ev.Approved = err == nil
	}
	if err != nil {
		if retryable(err) || ctx.Err() != nil {
			return err // the session is gone: Run reconnects
		}
		ev.Err = err
	}
	if l.o.Subscriptions.OnRequest != nil {
		l.o.Subscriptions.OnRequest(ev)
	}
	return nil
}

// approves decides on a request from bare.
func (l *Listener) approves(ctx context.Context, s conn.Session, bare string) (bool, error) {
	for _, j := range l.o.Subscriptions.ApproveFrom {
		if strings.EqualFold(j, bare) {
			return true, nil
		}
	}
	if !l.o.Subscriptions.ApproveRoster {
		return false, nil
	}
	// Asked each time: the roster may have changed on another device.
	roster.HandlePushes(s, nil)
	cctx, cancel := l.bounded(ctx)
	defer cancel()
	items, err := roster.Get(cctx, s)
	if err != nil {
		return false, err
	}
	_, in := roster.Find(items, bare)
	return in, nil
}

// approve sends the approval and waits until the server processed it.
func (l *Listener) approve(ctx context.Context, s conn.Session, bare string) error {
	cctx, cancel := l.bounded(ctx)
	defer cancel()
	if err := roster.Send(cctx, s, bare, stanza.SubscribedPresence); err != nil {
		return err
	}
	if err := s.Flush(cctx); err != nil {
		return fmt.Errorf("approve %s: %w", bare, err)
	}
	return nil
}
