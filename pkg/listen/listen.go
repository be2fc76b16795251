package listen

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/carbons"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/csi"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/markers"
	"github.com/xmppctl/xmppctl/pkg/receipts"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// Options configure a listener.
type Options struct {
	Self  archive.Self
	Store *store.Store
	// From limits what is reported to messages from these bare JIDs (all
	// messages are stored regardless).
	From []string
	// QuietPeriod: after a carbon shows another of our devices active in a
	// chat, events of that chat have Notify false for this long.
	QuietPeriod time.Duration
	// Inactive tells the server we are a background client (XEP-0352).
	Inactive bool
	// Online is called on each new session before anything else (the caps
	// presence and IQ responders); nil sends nothing more.
	Online func(ctx context.Context, s conn.Session) error
	// Ready is called on each new session once the server has processed
	// its setup (Online's stanzas, carbons, CSI), before the catch-up: from
	// then on what others send is seen, copies of what our other devices
	// send included.
	Ready func(s conn.Session)
	// OnEvent receives each newly stored message, in arrival order. It runs
	// on the receive path: it must not block for long.
	OnEvent func(Event)
	// Warn reports recoverable trouble (lost connection, forged carbons).
	Warn func(format string, args ...any)
	// Timeout bounds each wait for the server (0 = none).
	Timeout time.Duration
	// MaxBackoff caps the wait between reconnection attempts (0 = 1 min).
	MaxBackoff time.Duration
	// Retries bounds the reconnection attempts in a row that fail (0 = no
	// bound); a session that comes up starts the count again.
	Retries int
	// Keepalive: after this long without a stanza from the server, ping
	// it (XEP-0199); no answer within Keepalive more means the connection
	// is dead (a frozen NAT or route never says so): reconnect. 0 = off.
	Keepalive time.Duration
	// Now returns the time (tests); nil means time.Now.
	Now func() time.Time
	// Subscriptions handles presence subscription requests.
	Subscriptions Subscriptions

	// Rooms to join and stay in (rooms.go).
	Rooms []Room
	// Mentions reports only those room messages that mention our nick
	// (all are still stored; direct messages are always reported).
	Mentions bool
	// PingInterval is the XEP-0410 self-ping period (0 = 2 min).
	PingInterval time.Duration
	// OnRoomEnd is told when a room removed us for good (after Warn).
	OnRoomEnd func(*RoomEndedError)
	// OnJoined is told when a room has been joined (again) and caught up.
	OnJoined func(room, nick string)
	// Decrypt, when set, decrypts end-to-end encrypted messages (OMEMO)
	// before they are stored and reported.
	Decrypt archive.Decrypter
	// Settle, when set, makes each catch-up first fetch again what the
	// archive received in the Settle before the point it resumes after
	// (archive.SettleWindow: an archive may make a message visible after
	// a later one); what was already stored is not reported again. 0
	// trusts the archive's order.
	Settle time.Duration
}

// Event is a newly stored message.
type Event struct {
	Message *store.Message
	Kind    archive.Kind
	// Notify is false while another of our devices is active in the chat,
	// for messages we sent ourselves, and for messages without content
	// (receipts, markers).
	Notify bool
	// CatchUp marks messages fetched from the archive after a reconnect.
	CatchUp bool
	// Room describes the sender of a groupchat message from one of
	// Options.Rooms (nil otherwise).
	Room *RoomInfo
}

// Listener is one listen run (across reconnections).
type Listener struct {
	o Options

	mu       sync.Mutex
	active   map[string]time.Time // chat → last carbon of our own activity
	lastID   string               // last account-archive id seen
	lastAt   time.Time            // when the archive got it
	started  time.Time            // when the first session came up
	sessions int
	requests map[string]bool // subscription requests reported this run

	rooms *rooms // nil without Options.Rooms
}

// New returns a listener.
func New(o Options) *Listener {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Warn == nil {
		o.Warn = func(string, ...any) {}
	}
	for i, f := range o.From {
		o.From[i] = store.Bare(f)
	}
	l := &Listener{o: o, active: map[string]time.Time{}}
	if len(o.Rooms) > 0 {
		l.initRooms()
	}
	return l
}

// Dialer opens a new session.
type Dialer func(ctx context.Context) (conn.Session, error)

// Run connects with dial and serves sessions until ctx ends or an error
// that reconnecting cannot fix. A failure of the very first connection is
// returned as is; later connection losses are retried with exponential
// backoff (1 s doubling to MaxBackoff, with jitter).
func (l *Listener) Run(ctx context.Context, dial Dialer) error {
	backoff := time.Second
	failed := 0
	for {
		s, err := dial(ctx)
		if err != nil {
			failed++
			if ctx.Err() != nil || l.sessions == 0 || !retryable(err) || (l.o.Retries > 0 && failed > l.o.Retries) {
				return err
			}
			wait := jitter(backoff)
			l.o.Warn("reconnect failed: %v; next try in %s", err, wait.Round(100*time.Millisecond))
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			backoff = min(backoff*2, l.o.MaxBackoff)
			continue
		}
		backoff, failed = time.Second, 0
		err = l.Serve(ctx, s)
		if ctx.Err() != nil {
			s.Close()
			return ctx.Err()
		}
		// A lost session is closed on the side: its polite close waits for
		// an answer that a dead connection (a failed keepalive) never gives.
		if !retryable(err) {
			s.Close()
			return err
		}
		go s.Close()
		l.o.Warn("connection lost (%v); reconnecting", err)
		if err := sleep(ctx, jitter(200*time.Millisecond)); err != nil {
			return err
		}
	}
}

// errRoomsGone ends a session's receive loop when no room is left.
var errRoomsGone = errors.New("no room left")

func retryable(err error) bool {
	var ce *conn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, conn.ErrClosed) || errors.Is(err, context.DeadlineExceeded)
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Listener) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if l.o.Timeout > 0 {
		return context.WithTimeout(ctx, l.o.Timeout)
	}
	return context.WithCancel(ctx)
}

// Serve handles one session until it ends (returning why) or ctx ends.
func (l *Listener) Serve(ctx context.Context, s conn.Session) error {
	sub := s.Subscribe()
	defer sub.Close()
	if l.o.Online != nil {
		if err := l.o.Online(ctx, s); err != nil {
			return err
		}
	}
	cctx, cancel := l.bounded(ctx)
	err := carbons.Enable(cctx, s)
	cancel()
	if err != nil {
		var se *stanza.Error
		if !errors.As(err, &se) {
			return err
		}
		l.o.Warn("%v: messages your other devices send are not shown", err)
	}
	if l.o.Inactive {
		if err := csi.Inactive(ctx, s); err != nil {
			return err
		}
	}
	if l.o.Ready != nil {
		l.o.Ready(s)
	}
	l.mu.Lock()
	first := l.sessions == 0
	l.sessions++
	if first {
		l.started = l.o.Now().UTC()
	}
	l.mu.Unlock()
	if err := l.catchUp(ctx, s, first); err != nil {
		var me *mam.Error
		if !errors.As(err, &me) {
			return err
		}
		l.o.Warn("catching up through the archive failed: %v; messages sent while offline may be missing", err)
	}
	if l.rooms != nil {
		var wg sync.WaitGroup
		rctx, cancel := context.WithCancelCause(ctx)
		defer wg.Wait()
		defer cancel(nil)
		gone := l.serveRooms(rctx, s, &wg)
		go func() {
			select {
			case <-gone:
				cancel(errRoomsGone)
			case <-rctx.Done():
			}
		}()
		ctx = rctx
	}
	for {
		st, err := l.next(ctx, s, sub)
		if err != nil {
			if l.rooms != nil && errors.Is(context.Cause(ctx), errRoomsGone) {
				return &RoomsEndedError{Last: l.rooms.last}
			}
			return err
		}
		if p, ok := st.(*stanza.Presence); ok {
			l.roomPresence(p)
			if err := l.presence(ctx, s, p); err != nil {
				return err
			}
			continue
		}
		m, ok := st.(*stanza.Message)
		if !ok {
			continue
		}
		if err := l.handle(ctx, s, m); err != nil {
			return err
		}
	}
}

// next waits for the next stanza; after Keepalive of silence it pings the
// server, and no answer within Keepalive more ends the session as lost.
func (l *Listener) next(ctx context.Context, s conn.Session, sub conn.Subscription) (stanza.Stanza, error) {
	if l.o.Keepalive <= 0 {
		return sub.Next(ctx)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, l.o.Keepalive)
		st, err := sub.Next(wctx)
		cancel()
		if err == nil || ctx.Err() != nil || wctx.Err() == nil {
			return st, err
		}
		if err := Ping(ctx, s, l.o.Keepalive); err != nil {
			return nil, err
		}
	}
}

type ping struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}

// Ping sends an XEP-0199 ping to the account's server and waits up to
// timeout for the answer. An error reply still proves the connection alive;
// no answer in time is reported as a lost connection.
func Ping(ctx context.Context, s conn.Session, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := s.SendIQ(pctx, stanza.IQ{Type: stanza.GetIQ, To: s.Domain(), Payload: ping{}})
	var se *stanza.Error
	switch {
	case err == nil, errors.As(err, &se):
		return nil
	case ctx.Err() == nil && pctx.Err() != nil:
		return &conn.ConnectError{Lost: true, Err: fmt.Errorf("no answer to a keepalive ping within %v", timeout)}
	}
	return err
}

// catchUp fetches what the account archive got since the last id this
// run saw, else since the newest archived message in the store, else (on
// a reconnect) since the first session started, and reports what is new.
// A first run with an empty store starts with what arrives live: it does
// not replay the whole history ("archive sync" does that).
func (l *Listener) catchUp(ctx context.Context, s conn.Session, first bool) error {
	l.mu.Lock()
	q := mam.Query{After: l.lastID, Timeout: l.o.Timeout}
	at := l.lastAt
	l.mu.Unlock()
	if q.After == "" {
		id, t, err := l.o.Store.Latest(ctx, l.o.Self.Account, l.o.Self.Account)
		if err != nil {
			return err
		}
		q.After, at = id, t
	}
	if err := l.settle(ctx, q, at, func(w mam.Query) error { return l.walk(ctx, s, w) }); err != nil {
		return err
	}
	if q.After == "" {
		if first {
			return nil
		}
		q.Start = l.started.Add(-time.Second)
	}
	for attempt := 0; ; attempt++ {
		err := l.walk(ctx, s, q)
		var me *mam.Error
		if attempt == 0 && q.After != "" && errors.As(err, &me) && me.Condition() == stanza.ItemNotFound {
			q.After, q.Start = "", l.started.Add(-time.Second)
			continue
		}
		return err
	}
}

func (l *Listener) walk(ctx context.Context, s conn.Session, q mam.Query) error {
	it := mam.NewIterator(s, q)
	defer it.Close()
	for it.Next(ctx) {
		for _, r := range it.Page().Results {
			rec, ok := archive.FromResult(r, l.o.Self, l.o.Self.Account)
			l.seen(r.ID, r.Stamp)
			if !archive.Decrypt(ctx, l.o.Decrypt, s, r.Message, rec, false) || !ok {
				continue
			}
			kind := archive.KindLive
			if rec.Direction == store.Out {
				kind = archive.KindCarbonSent
			}
			if err := l.store(ctx, rec, kind, true); err != nil {
				return err
			}
		}
	}
	return it.Err()
}

func (l *Listener) seen(id string, at time.Time) {
	if id == "" {
		return
	}
	l.mu.Lock()
	l.lastID, l.lastAt = id, at
	l.mu.Unlock()
}

// settle walks the Settle window before the point a catch-up resumes after
// (Options.Settle), when there is one. A server that refuses the window's
// time filters costs only the window: the catch-up goes on.
func (l *Listener) settle(ctx context.Context, q mam.Query, at time.Time, walk func(mam.Query) error) error {
	if l.o.Settle <= 0 || q.After == "" || at.IsZero() {
		return nil
	}
	err := walk(archive.SettleWindow(q, at, l.o.Settle))
	var me *mam.Error
	if errors.As(err, &me) {
		l.o.Warn("catching up: the archive refused to list its messages by time (%v); a message it made visible late may be missing", err)
		return nil
	}
	return err
}

// handle processes one incoming message.
func (l *Listener) handle(ctx context.Context, s conn.Session, m *stanza.Message) error {
	rec, kind, inner := archive.Incoming(m, l.o.Self)
	switch kind {
	case archive.KindIgnored:
		return nil
	case archive.KindForged:
		l.o.Warn("ignored a forged carbon from %s", m.From)
		return nil
	}
	if !l.decryptLive(ctx, s, m, inner, rec) {
		return nil // an empty OMEMO message: processed, nothing to show
	}
	switch kind {
	case archive.KindLive:
		if err := l.acknowledge(ctx, s, m); err != nil {
			return err
		}
	case archive.KindCarbonSent:
		l.ownActivity(ctx, inner, rec)
	}
	if rec == nil {
		return nil
	}
	if rec.StanzaID != "" && strings.EqualFold(rec.Archive, l.o.Self.Account) {
		l.seen(rec.StanzaID, rec.Time)
	}
	if room := l.roomMessage(m, rec); room != nil {
		if m.Body == "" && m.Subject != "" {
			return nil // the room's subject, sent on every join
		}
		return l.storeEvent(ctx, rec, Event{Kind: kind, Room: room})
	}
	return l.store(ctx, rec, kind, false)
}

// acknowledge answers receipt and marker requests of a message delivered
// to us (not of carbons: the device that got the message answers).
func (l *Listener) acknowledge(ctx context.Context, s conn.Session, m *stanza.Message) error {
	if store.Bare(m.From) == store.Bare(l.o.Self.Account) || m.Type == stanza.GroupChatMessage || m.Type == stanza.ErrorMessage {
		return nil
	}
	if r, ok := receipts.Answer(m); ok {
		r.ID = conn.NewID()
		if err := s.Send(ctx, r); err != nil {
			return err
		}
	}
	if markers.IsMarkable(m) && m.ID != "" {
		mk := stanza.Message{ID: conn.NewID(), To: m.From, Type: m.Type, Payload: []any{markers.New(markers.KindReceived, m.ID)}}
		if err := s.Send(ctx, mk); err != nil {
			return err
		}
	}
	return nil
}

// ownActivity notes that another of our devices is active in a chat and
// marks the chat read: it replied, or it displayed the peer's messages.
func (l *Listener) ownActivity(ctx context.Context, inner *stanza.Message, rec *store.Message) {
	if inner == nil {
		return
	}
	peer := store.Bare(inner.To)
	now := l.o.Now()
	l.mu.Lock()
	l.active[peer] = now
	l.mu.Unlock()
	kind, id, isMarker := markers.Find(inner)
	if (isMarker && kind == markers.KindDisplayed) || (rec != nil && rec.Body != "") {
		if !isMarker {
			id = ""
		}
		_ = l.o.Store.Update(ctx, func(b *store.Batch) error {
			return b.MarkRead(l.o.Self.Account, peer, now.UTC(), id)
		})
	}
}

// store puts rec into the store and reports it when new.
func (l *Listener) store(ctx context.Context, rec *store.Message, kind archive.Kind, catchUp bool) error {
	return l.storeEvent(ctx, rec, Event{Kind: kind, CatchUp: catchUp})
}

// storeEvent puts rec into the store and reports ev for it when new.
func (l *Listener) storeEvent(ctx context.Context, rec *store.Message, ev Event) error {
	var res store.PutResult
	err := l.o.Store.Update(ctx, func(b *store.Batch) error {
		var err error
		res, err = b.Put(rec)
		return err
	})
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if res != store.Inserted || l.o.OnEvent == nil || !l.wanted(rec) {
		return nil
	}
	if ev.Room != nil && l.o.Mentions && !ev.Room.Mention {
		return nil
	}
	ev.Message, ev.Notify = rec, l.notify(rec)
	if l.rooms != nil {
		l.rooms.evmu.Lock()
		defer l.rooms.evmu.Unlock()
	}
	l.o.OnEvent(ev)
	return nil
}

func (l *Listener) wanted(rec *store.Message) bool {
	if len(l.o.From) == 0 {
		return true
	}
	from := store.Bare(rec.From)
	for _, f := range l.o.From {
		if f == from {
			return true
		}
	}
	return false
}

func (l *Listener) notify(rec *store.Message) bool {
	if rec.Direction != store.In || (rec.Body == "" && rec.OOB == "" && rec.Subject == "" && rec.DecryptError == "") {
		return false
	}
	l.mu.Lock()
	last, ok := l.active[rec.With]
	l.mu.Unlock()
	return !ok || l.o.Now().Sub(last) >= l.o.QuietPeriod
}

// ActiveElsewhere reports whether another of our devices was active in the
// chat with peer within the quiet period.
func (l *Listener) ActiveElsewhere(peer string) bool {
	l.mu.Lock()
	last, ok := l.active[store.Bare(peer)]
	l.mu.Unlock()
	return ok && l.o.Now().Sub(last) < l.o.QuietPeriod
}
