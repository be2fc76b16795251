package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/retry"
)

// Reconnect lets an Outbox survive a lost connection: it logs in again
// (with backoff, at most Retries attempts in a row without an
// acknowledgement in between) and sends again, with the same id and
// origin-id, every message the server had not acknowledged. Which ones
// those are comes from XEP-0198 (conn.Acks) where the server has stream
// management, else from the last successful Flush. The XEP-0198 session
// itself cannot be resumed: go-xmpp v0.4.1 has no resumption (see
// conn's doc.go), so a message that arrived just before the loss but
// whose acknowledgement did not can arrive twice, recognisably (same ids).
type Reconnect struct {
	// Dial logs in again.
	Dial func(ctx context.Context) (conn.Session, error)
	// Setup, when set, prepares each new session before anything is sent
	// again (rejoin rooms).
	Setup func(ctx context.Context, s conn.Session) error
	// Retries bounds the reconnection attempts in a row.
	Retries int
	// CheckArchive asks the account's archive (XEP-0313), before sending
	// again, which of the unacknowledged messages the server did handle
	// (archived.go): those are not sent twice.
	CheckArchive bool
	// Backoff is the wait before attempt n (1-based); nil: retry.Backoff.
	Backoff func(n int) time.Duration
	// OnLost, when set, hears of every lost connection before attempt n.
	OnLost func(err error, n int)
}

// Lost reports whether err means the connection is gone (retry.Lost).
func Lost(err error) bool { return retry.Lost(err) }

// Session is the session currently in use (it changes on reconnection);
// the caller closes it when done.
func (o *Outbox) Session() conn.Session { return o.s }

// recover handles err from the current session. A lost connection is
// replaced and the unacknowledged messages are sent again; any other error,
// or retries running out, settles what is pending (unknown if it was ever
// written, failed if not) and returns the error.
func (o *Outbox) recover(ctx context.Context, err error) error {
	culprit := tooLarge(err) // the server closed the stream over a stanza's size
	if culprit {
		o.noteAcked()
		if p := o.pending(); len(p) == 1 && p[0].wrote {
			// The only stanza the server had not acknowledged: it is the one.
			p[0].Status, p[0].Err = StatusFailed, fmt.Errorf("the server refused the message as too large: %w", err)
			o.settle()
			culprit = false
			if o.finishing {
				return nil // nothing left to send: no new connection needed
			}
		}
	}
	for {
		o.noteAcked()
		rc := o.Reconnect
		if !Lost(err) || ctx.Err() != nil || rc == nil || o.streak >= rc.Retries {
			o.giveUp(err)
			return err
		}
		o.streak++
		if rc.OnLost != nil {
			rc.OnLost(err, o.streak)
		}
		o.sub.Close()
		_ = o.s.Close()
		backoff := rc.Backoff
		if backoff == nil {
			backoff = retry.Backoff
		}
		select {
		case <-time.After(backoff(o.streak)):
		case <-ctx.Done():
			o.giveUp(err)
			return ctx.Err()
		}
		s, derr := rc.Dial(ctx)
		if derr != nil {
			err = derr
			continue
		}
		o.s, o.sub = s, s.Subscribe()
		if rc.Setup != nil {
			if serr := rc.Setup(ctx, s); serr != nil {
				err = serr
				continue
			}
		}
		if rc.CheckArchive {
			o.markArchived(ctx)
		}
		if err = o.resend(ctx, culprit); err == nil {
			return nil
		}
		culprit = culprit || tooLarge(err)
	}
}

// noteAcked marks what the server acknowledged on the stream that ended.
func (o *Outbox) noteAcked() {
	a, ok := o.s.(conn.Acks)
	if !ok {
		return
	}
	n, on := a.Acked()
	if !on {
		return
	}
	for _, r := range o.order {
		if r.Status == StatusSending && r.seq != 0 && r.seq <= n {
			r.Status = StatusSent
		}
	}
	o.settle()
}

// resend writes every pending message again on the new session. After a
// stream closed for a too large stanza it waits for each acknowledgement
// so that the one the server refuses is known: it fails alone and the
// rest goes on.
func (o *Outbox) resend(ctx context.Context, oneByOne bool) error {
	// settle compacts o.order: walk a copy, settle once at the end.
	defer o.settle()
	for _, r := range append([]*Result(nil), o.order...) {
		if r.Status != StatusSending {
			continue
		}
		if err := o.write(ctx, r); err != nil {
			return err
		}
		if !oneByOne {
			continue
		}
		if err := o.s.Flush(ctx); err != nil {
			if tooLarge(err) {
				r.Status, r.Err = StatusFailed, fmt.Errorf("the server refused the message as too large: %w", err)
				o.streak = 0 // progress: the culprit is known
			}
			return err
		}
		r.Status = StatusSent
	}
	o.unacked = 0
	return nil
}

// pending returns the messages not settled yet.
func (o *Outbox) pending() []*Result {
	var out []*Result
	for _, r := range o.order {
		if r.Status == StatusSending {
			out = append(out, r)
		}
	}
	return out
}

func tooLarge(err error) bool {
	var ce *conn.ConnectError
	return errors.As(err, &ce) && ce.Condition == conn.PolicyViolation
}

// giveUp settles every pending message: unknown if it was ever written
// (it may have arrived), failed if never.
func (o *Outbox) giveUp(err error) {
	for _, r := range o.order {
		if r.Status != StatusSending {
			continue
		}
		r.Err = err
		if r.wrote {
			r.Status = StatusUnknown
		} else {
			r.Status = StatusFailed
		}
	}
	o.settle()
}
