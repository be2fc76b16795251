package roster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Outcome says what a command did for one JID.
type Outcome string

// Outcomes.
const (
	Added             Outcome = "added"
	Updated           Outcome = "updated"
	Removed           Outcome = "removed"
	NotInRoster       Outcome = "not-in-roster"
	Requested         Outcome = "requested"          // subscription request sent
	AlreadySubscribed Outcome = "already-subscribed" // we already see their presence
	Approved          Outcome = "approved"           // a pending request was approved
	PreApproved       Outcome = "pre-approved"       // approved before they asked (RFC 6121 §3.4)
	AlreadyApproved   Outcome = "already-approved"   // they already see our presence
	Denied            Outcome = "denied"             // a pending request was denied
	Revoked           Outcome = "revoked"            // they no longer see our presence
	NotPending        Outcome = "not-pending"        // nothing to deny
	Failed            Outcome = "failed"
)

// ErrNoRequest is the failure of approving a JID that has not asked, on
// a server without pre-approval.
var ErrNoRequest = errors.New("no pending subscription request, and the server does not support pre-approval (RFC 6121 §3.4)")

// Result is the outcome for one JID.
type Result struct {
	JID     string  `json:"jid"`
	Outcome Outcome `json:"outcome"`
	// Subscribe is the outcome of the subscription request that "roster
	// add" sends along (empty when none was wanted).
	Subscribe Outcome `json:"subscribe,omitempty"`
	Error     string  `json:"error,omitempty"`
	Err       error   `json:"-"`
}

// State is what the subscription commands decide on: the roster, the
// pending incoming requests and whether the server pre-approves.
type State struct {
	Items       []Item
	Pending     []Request
	PreApproval bool
}

// Load registers the push handler, fetches the roster and the pending
// requests. sub is the session's first subscription (see Pending).
func Load(ctx context.Context, s conn.Session, sub conn.Subscription) (State, error) {
	HandlePushes(s, nil)
	items, err := Get(ctx, s)
	if err != nil {
		return State{}, err
	}
	pending, err := Pending(ctx, s, sub)
	if err != nil {
		return State{}, err
	}
	st := State{Items: items, Pending: pending}
	if li, ok := s.(conn.LoginInfo); ok {
		st.PreApproval = PreApproval(li.StreamFeatures())
	}
	return st, nil
}

func (st State) pending(bare string) bool {
	for _, r := range st.Pending {
		if strings.EqualFold(r.JID, bare) {
			return true
		}
	}
	return false
}

// plan is a presence to send for a JID and the outcome it gives once the
// server has accepted it.
type plan struct {
	res  *Result
	typ  stanza.PresenceType
	then Outcome
}

// run sends the planned presences, waits for the server and turns any
// refusal into a failure.
func run(ctx context.Context, s conn.Session, sub conn.Subscription, plans []plan) error {
	var jids []string
	for _, p := range plans {
		if err := Send(ctx, s, p.res.JID, p.typ); err != nil {
			return err
		}
		jids = append(jids, p.res.JID)
	}
	if len(plans) == 0 {
		return nil
	}
	if err := s.Flush(ctx); err != nil {
		return err
	}
	refused := Refused(sub, jids)
	for _, p := range plans {
		if err := refused[stanza.BareJID(p.res.JID)]; err != nil {
			fail(p.res, fmt.Errorf("%s: %w", p.res.JID, err))
			continue
		}
		if p.typ == stanza.SubscribePresence && p.res.Outcome != "" {
			p.res.Subscribe = p.then
			continue
		}
		p.res.Outcome = p.then
	}
	return nil
}

func fail(r *Result, err error) {
	r.Outcome, r.Err, r.Error = Failed, err, err.Error()
}

// Approve approves the pending requests of jids; a JID that has not asked
// is pre-approved where the server supports it, else it fails with
// ErrNoRequest.
func Approve(ctx context.Context, s conn.Session, sub conn.Subscription, st State, jids []string) ([]Result, error) {
	out := make([]Result, len(jids))
	var plans []plan
	for i, j := range jids {
		out[i].JID = j
		it, inRoster := Find(st.Items, j)
		switch {
		case st.pending(j):
			plans = append(plans, plan{&out[i], stanza.SubscribedPresence, Approved})
		case inRoster && it.Subscription.Sees():
			out[i].Outcome = AlreadyApproved
		case st.PreApproval:
			plans = append(plans, plan{&out[i], stanza.SubscribedPresence, PreApproved})
		default:
			fail(&out[i], fmt.Errorf("approve %s: %w", j, ErrNoRequest))
		}
	}
	return out, run(ctx, s, sub, plans)
}

// Deny denies the pending requests of jids, and revokes the subscription
// of those that already see our presence.
func Deny(ctx context.Context, s conn.Session, sub conn.Subscription, st State, jids []string) ([]Result, error) {
	out := make([]Result, len(jids))
	var plans []plan
	for i, j := range jids {
		out[i].JID = j
		it, inRoster := Find(st.Items, j)
		switch {
		case st.pending(j):
			plans = append(plans, plan{&out[i], stanza.UnsubscribedPresence, Denied})
		case inRoster && it.Subscription.Sees():
			plans = append(plans, plan{&out[i], stanza.UnsubscribedPresence, Revoked})
		default:
			out[i].Outcome = NotPending
		}
	}
	return out, run(ctx, s, sub, plans)
}

// Subscribe asks jids for their presence, except those we already see.
// A request still pending is sent again (harmless; the contact may have
// missed it).
func Subscribe(ctx context.Context, s conn.Session, sub conn.Subscription, st State, jids []string) ([]Result, error) {
	out := make([]Result, len(jids))
	var plans []plan
	for i, j := range jids {
		out[i].JID = j
		if it, ok := Find(st.Items, j); ok && it.Subscription.Seen() {
			out[i].Outcome = AlreadySubscribed
			continue
		}
		plans = append(plans, plan{&out[i], stanza.SubscribePresence, Requested})
	}
	return out, run(ctx, s, sub, plans)
}

// Add adds jid to the roster or updates its entry. name and groups
// replace the entry's when given (nil keeps them). With subscribe, a
// subscription request follows unless we already see the contact.
func Add(ctx context.Context, s conn.Session, sub conn.Subscription, st State, jid string, name *string, groups []string, subscribe bool) (Result, error) {
	res := Result{JID: jid, Outcome: Added}
	it, exists := Find(st.Items, jid)
	if exists {
		res.Outcome = Updated
	} else {
		it = Item{JID: jid}
	}
	if name != nil {
		it.Name = *name
	}
	if groups != nil {
		it.Groups = groups
	}
	if err := Set(ctx, s, it); err != nil {
		var se *stanza.Error
		if errors.As(err, &se) {
			fail(&res, err)
			return res, nil
		}
		return res, err
	}
	if !subscribe {
		return res, nil
	}
	if it.Subscription.Seen() {
		res.Subscribe = AlreadySubscribed
		return res, nil
	}
	return res, run(ctx, s, sub, []plan{{&res, stanza.SubscribePresence, Requested}})
}

// Remove deletes jid from the roster; a JID that is not there is not an
// error.
func Remove(ctx context.Context, s conn.Session, st State, jid string) (Result, error) {
	res := Result{JID: jid, Outcome: Removed}
	if _, ok := Find(st.Items, jid); !ok {
		res.Outcome = NotInRoster
		return res, nil
	}
	err := Delete(ctx, s, jid)
	var se *stanza.Error
	switch {
	case errors.As(err, &se) && se.Condition == stanza.ItemNotFound:
		res.Outcome = NotInRoster // removed meanwhile by another device
	case errors.As(err, &se):
		fail(&res, err)
	case err != nil:
		return res, err
	}
	return res, nil
}
