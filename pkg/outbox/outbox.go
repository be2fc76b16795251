// Package outbox sends messages and tells the truth about them: a message
// counts as sent only once the server has acknowledged it (conn.Flush), a
// recipient whose message bounced with an error stanza has failed, and with
// receipts requested (XEP-0184) a message counts as delivered only when its
// receipt arrived. Every message carries an origin-id (XEP-0359).
package outbox

import (
	"context"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/receipts"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Content is what a message says.
type Content struct {
	Type    stanza.MessageType // chat, normal, headline, groupchat
	Subject string
	Body    string
	OOB     string // XEP-0066 URL; the body should then be exactly the URL
}

// Result is the fate of one message.
type Result struct {
	To        string `json:"to"`
	ID        string `json:"id"`
	Status    string `json:"status"` // sent, delivered, failed, unknown
	Err       error  `json:"-"`
	ErrorText string `json:"error,omitempty"`
	// Encrypted is the end-to-end encryption the message went out under
	// (its namespace), "" for none.
	Encrypted string         `json:"encrypted,omitempty"`
	Message   stanza.Message `json:"-"` // what was sent (before Seal: the plaintext)

	// wire is what goes on the stream: &Message, or its sealed form. A
	// re-send after a reconnect writes it again unchanged (the ratchet
	// step it used is already stored), never a second encryption. A
	// pointer: no second copy of the message per result, and none boxed
	// into an interface on every write.
	wire    *stanza.Message
	seq     uint64    // position on the current stream (conn.Acks); 0: not written on it
	wrote   bool      // written on some stream, so possibly delivered
	written time.Time // when first written
}

// The statuses of a Result.
const (
	StatusSending   = "sending"   // not final yet
	StatusSent      = "sent"      // the server acknowledged it
	StatusDelivered = "delivered" // the recipient's receipt arrived
	StatusFailed    = "failed"    // never sent, or bounced with an error
	// StatusUnknown: written, then the connection was lost before the
	// server's acknowledgement and retries ran out before it was re-sent.
	StatusUnknown = "unknown"
)

// Outbox tracks the messages of one session.
type Outbox struct {
	// BatchSize, when positive, makes Send wait for the server's
	// acknowledgement after every BatchSize messages (each wait bounded by
	// BatchTimeout), so that a long stream of messages never waits on one
	// unbounded barrier and bounces surface early.
	BatchSize    int
	BatchTimeout time.Duration
	// OnSettled, when set, receives every result as soon as it is final
	// (after each batch acknowledgement), which then is forgotten: a
	// never-ending --lines stream keeps constant memory.
	OnSettled func(Result)
	// Seal, when set, turns each message into its end-to-end encrypted
	// form before it is sent (replacing body and adding payloads). An error
	// fails that message alone and nothing is sent for it: never the
	// plaintext. Encryption names it in the results.
	Seal       func(ctx context.Context, to string, m *stanza.Message) error
	Encryption string

	// Reconnect, when set, makes the outbox survive lost connections (see
	// reconnect.go).
	Reconnect *Reconnect

	s      conn.Session
	sub    conn.Subscription
	streak int // reconnection attempts since the last acknowledgement
	// finishing: Finish runs, nothing more will be sent.
	finishing bool
	ended     bool // done: the results handed over, the subscription closed
	receipt   bool
	order     []*Result
	byID      map[string]*Result
	// free holds results settled and forgotten, for the next messages: a
	// --lines stream reuses a batch's worth instead of leaving each one
	// to the collector.
	free    []*Result
	unacked int
}

// OriginID is XEP-0359's origin-id.
type OriginID struct {
	XMLName xml.Name `xml:"urn:xmpp:sid:0 origin-id"`
	ID      string   `xml:"id,attr"`
}

// OOB is the XEP-0066 jabber:x:oob element.
type OOB struct {
	XMLName xml.Name `xml:"jabber:x:oob x"`
	URL     string   `xml:"url"`
}

// New starts tracking; it subscribes at once so that no bounce is missed.
// With receipt set every non-groupchat message requests a receipt.
func New(s conn.Session, receipt bool) *Outbox {
	return &Outbox{s: s, sub: s.Subscribe(), receipt: receipt, byID: map[string]*Result{}}
}

// Build returns the stanza for one message; exported for golden tests and
// for callers that add payloads.
func Build(id, to string, c Content, requestReceipt bool) stanza.Message {
	m := stanza.Message{ID: id, To: to, Type: c.Type, Subject: stanza.Sanitize(c.Subject),
		Body: stanza.Sanitize(c.Body)}
	m.Payload = append(m.Payload, OriginID{ID: id})
	if c.OOB != "" {
		m.Payload = append(m.Payload, OOB{URL: stanza.Sanitize(c.OOB)})
	}
	if requestReceipt && c.Type != stanza.GroupChatMessage {
		m.Payload = append(m.Payload, receipts.Request{})
	}
	return m
}

// Send writes one message without waiting (messages are pipelined).
func (o *Outbox) Send(ctx context.Context, to string, c Content) (string, error) {
	id := conn.NewID()
	m := Build(id, to, c, o.receipt)
	r := o.result()
	r.To, r.ID, r.Status, r.Message = to, id, StatusSending, m
	o.order = append(o.order, r)
	o.byID[id] = r
	r.wire = &r.Message
	if o.Seal != nil {
		r.Encrypted = o.Encryption
		wire := m
		wire.Payload = append([]any(nil), m.Payload...)
		if err := o.Seal(ctx, to, &wire); err != nil {
			if ctx.Err() != nil {
				r.Status, r.Err = StatusFailed, ctx.Err()
				return id, ctx.Err()
			}
			r.Status, r.Err = StatusFailed, err
			return id, nil
		}
		r.wire = &wire
		r.Encrypted = o.Encryption // Seal may name what it used for this message
	}
	if err := o.write(ctx, r); err != nil {
		if err := o.recover(ctx, err); err != nil {
			return id, err
		}
	}
	o.unacked++
	if o.BatchSize > 0 && o.unacked >= o.BatchSize {
		if err := o.flush(ctx); err != nil {
			return id, err
		}
	}
	o.drain()
	return id, nil
}

// write sends r on the current stream, noting its position there.
func (o *Outbox) write(ctx context.Context, r *Result) error {
	r.seq = 0
	if a, ok := o.s.(conn.Acks); ok {
		seq, err := a.SendSeq(ctx, r.wire)
		if err != nil {
			return err
		}
		o.wrote(r)
		r.seq = seq
		return nil
	}
	if err := o.s.Send(ctx, r.wire); err != nil {
		return err
	}
	o.wrote(r)
	return nil
}

func (o *Outbox) wrote(r *Result) {
	if !r.wrote {
		r.wrote, r.written = true, time.Now()
	}
}

func (o *Outbox) flush(ctx context.Context) error {
	for {
		err := o.flushOnce(ctx)
		if err == nil {
			return nil
		}
		if rerr := o.recover(ctx, err); rerr != nil {
			return fmt.Errorf("wait for server acknowledgement: %w", rerr)
		}
	}
}

func (o *Outbox) flushOnce(ctx context.Context) error {
	fctx, cancel := ctx, context.CancelFunc(func() {})
	if o.BatchTimeout > 0 {
		fctx, cancel = context.WithTimeout(ctx, o.BatchTimeout)
	}
	defer cancel()
	if err := o.s.Flush(fctx); err != nil {
		if ctx.Err() == nil && fctx.Err() != nil && o.Reconnect != nil {
			// No answer within the bound while the caller still waits: the
			// connection is as good as lost (frozen); reconnect.
			return &conn.ConnectError{Lost: true, Err: fmt.Errorf("no acknowledgement within %v", o.BatchTimeout)}
		}
		return err
	}
	o.streak = 0
	o.unacked = 0
	o.drain()
	o.markSent()
	o.settle()
	return nil
}

// markSent marks everything sent before the last acknowledgement as sent.
func (o *Outbox) markSent() {
	for _, r := range o.order {
		if r.Status == StatusSending {
			r.Status = StatusSent
		}
	}
}

// result returns a zero Result, reused when one is free.
func (o *Outbox) result() *Result {
	if n := len(o.free); n > 0 {
		r := o.free[n-1]
		o.free = o.free[:n-1]
		return r
	}
	return new(Result)
}

// settle hands final results to OnSettled and forgets them.
func (o *Outbox) settle() {
	if o.OnSettled == nil {
		return
	}
	keep := o.order[:0]
	for _, r := range o.order {
		if r.Status == StatusFailed || r.Status == StatusDelivered || r.Status == StatusUnknown ||
			(r.Status == StatusSent && !o.receipt) {
			res := *r
			res.wire = nil // r is reused below
			if r.Err != nil {
				res.ErrorText = r.Err.Error()
			}
			o.OnSettled(res)
			delete(o.byID, r.ID)
			*r = Result{} // res is a copy; nothing else points at r now
			o.free = append(o.free, r)
			continue
		}
		keep = append(keep, r)
	}
	for i := len(keep); i < len(o.order); i++ {
		o.order[i] = nil
	}
	o.order = keep
}

// drain applies what has arrived so far without waiting.
func (o *Outbox) drain() {
	for {
		st, ok := o.sub.Poll()
		if !ok {
			return
		}
		o.apply(st)
	}
}

func (o *Outbox) apply(st stanza.Stanza) {
	m, ok := st.(*stanza.Message)
	if !ok {
		return
	}
	if m.Type == stanza.ErrorMessage {
		if r := o.byID[m.ID]; r != nil && r.Status != StatusFailed {
			r.Status, r.Err = StatusFailed, m.Error
		}
		return
	}
	if id, ok := receipts.ReceivedID(m); ok {
		r := o.byID[id]
		// The receipt must come from the recipient (any resource of it).
		if r != nil && r.Status != StatusFailed && stanza.SameBare(m.From, r.To) {
			r.Status = StatusDelivered
		}
	}
}

// Finish waits, bounded by ctx, for the server's acknowledgement of
// everything sent; nothing more is sent after it. It returns the results
// not yet settled, in sending order (with OnSettled set, they have also
// been handed to it); err is non-nil only when the session itself failed.
// With receipts requested the outbox is not done yet: WaitReceipts, with a
// context of its own, waits for them and gives the final results.
func (o *Outbox) Finish(ctx context.Context) ([]Result, error) {
	o.finishing = true
	for len(o.pending()) > 0 {
		err := o.s.Flush(ctx)
		if err == nil {
			break
		}
		if rerr := o.recover(ctx, err); rerr != nil {
			return o.done(), fmt.Errorf("wait for server acknowledgement: %w", rerr)
		}
	}
	if len(o.order) > 0 {
		o.routed(ctx)
	}
	o.drain()
	o.markSent()
	if o.receipt {
		return o.results(), nil
	}
	return o.done(), nil
}

// WaitReceipts waits after Finish for the receipt of every message sent
// until ctx ends, and returns the final results like Finish; err is a
// *ReceiptTimeout when some did not arrive. Without receipts requested it
// returns what Finish returned.
func (o *Outbox) WaitReceipts(ctx context.Context) ([]Result, error) {
	if !o.receipt || o.ended {
		return o.results(), nil
	}
	for o.missingReceipts() > 0 {
		st, err := o.sub.Next(ctx)
		if err != nil {
			return o.done(), &ReceiptTimeout{Missing: o.missing(), Err: err}
		}
		o.apply(st)
	}
	return o.done(), nil
}

// done ends the outbox: the results not yet settled, after handing them to
// OnSettled, and the subscription of the last session closed.
func (o *Outbox) done() []Result {
	res := o.results()
	if !o.ended {
		o.ended = true
		o.settleAll()
		o.sub.Close()
	}
	return res
}

// settleAll hands every remaining result to OnSettled, final or not.
func (o *Outbox) settleAll() {
	if o.OnSettled == nil {
		return
	}
	for _, r := range o.results() {
		o.OnSettled(r)
	}
}

func (o *Outbox) missingReceipts() int { return len(o.missing()) }

func (o *Outbox) missing() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range o.order {
		if r.Status == StatusSent && !seen[r.To] {
			seen[r.To] = true
			out = append(out, r.To)
		}
	}
	sort.Strings(out)
	return out
}

func (o *Outbox) results() []Result {
	out := make([]Result, len(o.order))
	for i, r := range o.order {
		out[i] = *r
		if r.Err != nil {
			out[i].ErrorText = r.Err.Error()
		}
	}
	return out
}

// ReceiptTimeout reports recipients whose receipt did not arrive in time.
type ReceiptTimeout struct {
	Missing []string
	Err     error // the context's error
}

func (e *ReceiptTimeout) Error() string {
	return "no delivery receipt from " + strings.Join(e.Missing, ", ")
}

func (e *ReceiptTimeout) Unwrap() error { return e.Err }

// routed waits for a ping round trip to the server after the
// acknowledgement. An XEP-0198 <a/> says that the server received the
// stanzas, not that it has finished routing them: ejabberd 23.01 queues the
// error bounce of a message to an unknown account behind the <a/> it has
// already written, and answers the ping only after that bounce
// (TestSendErrorBounceAndPartial against ejabberd). The receive loop hands
// the bounce to the subscription before it completes the ping, so drain
// then sees it. Best effort: the messages are acknowledged whatever the
// ping's fate.
func (o *Outbox) routed(ctx context.Context) {
	a, ok := o.s.(conn.Acks)
	if !ok {
		return
	}
	if _, sm := a.Acked(); !sm {
		return // Flush was a ping already
	}
	_, _ = o.s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: o.s.Domain(), Payload: pingQuery{}})
}

type pingQuery struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}
