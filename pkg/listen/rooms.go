package listen

// The room subsystem: Options.Rooms are joined on every session (asking
// for no history), caught up from each room's own archive (XEP-0313 on the
// room JID) after the newest stanza-id stored for it, kept joined with
// XEP-0410 self-pings (a room that silently dropped us is rejoined with
// backoff), and ended when the room removes us for good (kick, ban,
// destruction, members-only): that is reported through Warn and
// OnRoomEnd, the other rooms stay. When every room has ended, Serve
// returns a *RoomsEndedError.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/muc"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// Room is a room the listener stays in.
type Room struct {
	JID      string // bare room JID
	Nick     string // our nickname there
	Password string
}

// RoomInfo describes the sender of a groupchat message.
type RoomInfo struct {
	Room       string `json:"room"`
	Nick       string `json:"nick"`
	OccupantID string `json:"occupant_id,omitempty"` // XEP-0421, when the room stamps one
	RealJID    string `json:"real_jid,omitempty"`    // when the room shows it
	Mention    bool   `json:"mention,omitempty"`     // the body mentions our nick
}

// DefaultPingInterval is how often a joined room is self-pinged.
const DefaultPingInterval = 2 * time.Minute

// RoomEndedError says why the listener left a room for good.
type RoomEndedError struct {
	Room string
	Why  muc.Removal // 0 when the join itself was refused
	Err  error       // the refusal (a *muc.JoinError), or nil
}

func (e *RoomEndedError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %s", e.Room, e.Why)
}

// Unwrap exposes the room's refusal.
func (e *RoomEndedError) Unwrap() error { return e.Err }

// RoomsEndedError is returned by Serve when no room is left.
type RoomsEndedError struct {
	Last *RoomEndedError
}

func (e *RoomsEndedError) Error() string {
	return "no room left to listen in; the last: " + e.Last.Error()
}

// Unwrap exposes the last room's reason.
func (e *RoomsEndedError) Unwrap() error { return e.Last }

type roomState struct {
	Room
	nickKey string // lower-cased room/nick
	ended   bool
	removed chan struct{} // signalled when our unavailable presence arrives (this session)
	// real maps occupant nicks to the real JIDs their presence showed
	// (non-anonymous rooms, or when we moderate): messages do not carry
	// them.
	real map[string]string
}

// maxOccupants bounds the real JIDs remembered per room.
const maxOccupants = 10000

type rooms struct {
	mu      sync.Mutex
	list    []*roomState
	left    int
	last    *RoomEndedError
	evmu    sync.Mutex // OnEvent is called by several goroutines: one at a time
	allGone chan struct{}
}

func (l *Listener) initRooms() {
	l.rooms = &rooms{allGone: make(chan struct{})}
	for _, r := range l.o.Rooms {
		r.JID = store.Bare(r.JID)
		l.rooms.list = append(l.rooms.list, &roomState{Room: r, nickKey: strings.ToLower(r.JID + "/" + r.Nick)})
	}
	l.rooms.left = len(l.rooms.list)
	if l.o.PingInterval <= 0 {
		l.o.PingInterval = DefaultPingInterval
	}
}

func (rs *rooms) find(jid string) *roomState {
	b := store.Bare(jid)
	for _, r := range rs.list {
		if r.JID == b {
			return r
		}
	}
	return nil
}

// serveRooms starts one goroutine per room still wanted; they end with
// ctx. It returns a channel closed when every room has ended.
func (l *Listener) serveRooms(ctx context.Context, s conn.Session, wg *sync.WaitGroup) <-chan struct{} {
	l.rooms.mu.Lock()
	defer l.rooms.mu.Unlock()
	for _, r := range l.rooms.list {
		if r.ended {
			continue
		}
		r.removed = make(chan struct{}, 1)
		r.real = nil // a new session knows nobody yet
		wg.Add(1)
		go func(r *roomState, removed chan struct{}) {
			defer wg.Done()
			l.keepRoom(ctx, s, r, removed)
		}(r, r.removed)
	}
	return l.rooms.allGone
}

// roomPresence notes occupants' real JIDs and passes our own unavailable
// presence on to its room.
func (l *Listener) roomPresence(p *stanza.Presence) {
	if l.rooms == nil {
		return
	}
	l.rooms.mu.Lock()
	defer l.rooms.mu.Unlock()
	r := l.rooms.find(p.From)
	if r == nil {
		return
	}
	_, nick, _ := strings.Cut(p.From, "/")
	switch p.Type {
	case stanza.AvailablePresence:
		if u, ok := muc.ParseUser(p.Ext); ok && u.JID != "" && nick != "" {
			if r.real == nil {
				r.real = map[string]string{}
			}
			if _, known := r.real[nick]; known || len(r.real) < maxOccupants {
				r.real[nick] = u.JID
			}
		}
		return
	case stanza.UnavailablePresence:
		delete(r.real, nick)
	default:
		return
	}
	if r.ended || r.removed == nil || strings.ToLower(p.From) != r.nickKey {
		return
	}
	select {
	case r.removed <- struct{}{}:
	default:
	}
}

func (l *Listener) endRoom(r *roomState, e *RoomEndedError) {
	l.rooms.mu.Lock()
	if r.ended {
		l.rooms.mu.Unlock()
		return
	}
	r.ended = true
	l.rooms.left--
	l.rooms.last = e
	all := l.rooms.left == 0
	l.rooms.mu.Unlock()
	l.o.Warn("room %s: %v; no longer listening there", r.JID, e)
	if l.o.OnRoomEnd != nil {
		l.o.OnRoomEnd(e)
	}
	if all {
		close(l.rooms.allGone)
	}
}

// keepRoom joins r, catches up and keeps it joined until ctx ends or the
// room removes us for good.
func (l *Listener) keepRoom(ctx context.Context, s conn.Session, r *roomState, removed chan struct{}) {
	backoff := time.Second
	for ctx.Err() == nil {
		jctx, cancel := l.bounded(ctx)
		err := muc.Join(jctx, s, r.JID, r.Nick, r.Password)
		cancel()
		var je *muc.JoinError
		switch {
		case errors.As(err, &je):
			l.endRoom(r, &RoomEndedError{Room: r.JID, Err: err})
			return
		case err != nil:
			if ctx.Err() != nil || errors.Is(err, conn.ErrClosed) {
				return
			}
			wait := jitter(backoff)
			l.o.Warn("room %s: %v; joining again in %s", r.JID, err, wait.Round(100*time.Millisecond))
			if sleep(ctx, wait) != nil {
				return
			}
			backoff = min(backoff*2, l.o.MaxBackoff)
			continue
		}
		if err := l.catchUpRoom(ctx, s, r); err != nil && ctx.Err() == nil {
			l.o.Warn("room %s: catching up through its archive failed: %v; messages sent while away may be missing", r.JID, err)
		}
		if l.o.OnJoined != nil {
			l.o.OnJoined(r.JID, r.Nick)
		}
		backoff = time.Second
		why := l.stayJoined(ctx, s, r, removed)
		if why == 0 {
			return // ctx ended
		}
		if why.Final() {
			l.endRoom(r, &RoomEndedError{Room: r.JID, Why: why})
			return
		}
		wait := jitter(backoff)
		l.o.Warn("room %s: %s; joining again in %s", r.JID, why, wait.Round(100*time.Millisecond))
		if sleep(ctx, wait) != nil {
			return
		}
		backoff = min(backoff*2, l.o.MaxBackoff)
	}
}

// stayJoined self-pings the room every PingInterval and waits for our
// removal; it returns why we are out (0 when ctx ended).
func (l *Listener) stayJoined(ctx context.Context, s conn.Session, r *roomState, removed chan struct{}) muc.Removal {
	t := time.NewTicker(l.o.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-removed:
			return l.whyRemoved(ctx, s, r)
		case <-t.C:
			pctx, cancel := l.bounded(ctx)
			res, err := muc.SelfPing(pctx, s, r.JID, r.Nick)
			cancel()
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, conn.ErrClosed) {
					return 0
				}
				continue // no answer: the connection's own keepalive decides
			}
			if res == muc.NotJoined {
				l.o.Warn("room %s: the room no longer has us (self-ping)", r.JID)
				return muc.RemovedOther
			}
		}
	}
}

// whyRemoved reads the status codes of our unavailable presence (go-xmpp
// drops them; the session's presence watcher keeps them).
func (l *Listener) whyRemoved(ctx context.Context, s conn.Session, r *roomState) muc.Removal {
	pw, ok := s.(conn.PresenceWatcher)
	if !ok {
		return muc.RemovedOther
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ext, err := pw.UnavailableExt(wctx, r.JID+"/"+r.Nick)
	if err != nil {
		return muc.RemovedOther
	}
	u, _ := muc.ParseUser(ext)
	return muc.WhyRemoved(u)
}

// catchUpRoom fetches what the room archived after the newest stanza-id
// stored for it. A room never stored before starts with what arrives live.
//
// A room archive that no longer has that id (expired, cleared) is read
// from the time of that message instead: what is already stored is
// recognised by its stanza-id, and the user is told of a possible gap.
func (l *Listener) catchUpRoom(ctx context.Context, s conn.Session, r *roomState) error {
	after, at, err := l.o.Store.Latest(ctx, l.o.Self.Account, r.JID)
	if err != nil || after == "" {
		return err
	}
	q := mam.Query{Archive: r.JID, After: after, Timeout: l.o.Timeout}
	if err := l.settle(ctx, q, at, func(w mam.Query) error { return l.walkRoom(ctx, s, r, w) }); err != nil {
		return err
	}
	err = l.walkRoom(ctx, s, r, q)
	var me *mam.Error
	if errors.As(err, &me) && me.Condition() == stanza.ItemNotFound {
		l.o.Warn("room %s: its archive no longer has the last message stored (id %s); reading it from %s, there may be a gap",
			r.JID, after, at.Format(time.RFC3339))
		err = l.walkRoom(ctx, s, r, mam.Query{Archive: r.JID, Start: at, Timeout: l.o.Timeout})
	}
	return err
}

func (l *Listener) walkRoom(ctx context.Context, s conn.Session, r *roomState, q mam.Query) error {
	it := mam.NewIterator(s, q)
	defer it.Close()
	for it.Next(ctx) {
		for _, res := range it.Page().Results {
			rec, ok := archive.FromResult(res, l.roomSelf(r), r.JID)
			if !ok {
				continue
			}
			// Who sent an archived message is not known (the nick may have
			// been someone else's then): an OMEMO one is kept with that
			// reason, not shown as its fallback text.
			if !archive.DecryptRoom(ctx, l.o.Decrypt, s, res.Message, rec, false, "") {
				continue
			}
			if err := l.storeEvent(ctx, rec, Event{Kind: archive.KindLive, CatchUp: true, Room: l.roomInfo(r, res.Message, rec, false)}); err != nil {
				return err
			}
		}
	}
	return it.Err()
}

func (l *Listener) roomSelf(r *roomState) archive.Self {
	return archive.Self{Account: l.o.Self.Account, Nick: r.Nick}
}

// roomMessage completes the record of a live groupchat message: its
// direction by our nick in that room, and the sender's details.
func (l *Listener) roomMessage(m *stanza.Message, rec *store.Message) *RoomInfo {
	if l.rooms == nil || rec == nil || rec.Type != string(stanza.GroupChatMessage) {
		return nil
	}
	l.rooms.mu.Lock()
	r := l.rooms.find(m.From)
	l.rooms.mu.Unlock()
	if r == nil {
		return nil
	}
	return l.roomInfo(r, m, rec, true)
}

// decryptLive decrypts a live message (inner is m, or the message a
// carbon carries). A groupchat message from one of our rooms is decrypted
// as from its sender's real JID, which only the room shows.
func (l *Listener) decryptLive(ctx context.Context, s conn.Session, m, inner *stanza.Message, rec *store.Message) bool {
	if inner != m || m.Type != stanza.GroupChatMessage || l.rooms == nil {
		return archive.Decrypt(ctx, l.o.Decrypt, s, inner, rec, true)
	}
	return archive.DecryptRoom(ctx, l.o.Decrypt, s, m, rec, true, l.realJID(m))
}

// realJID is the real JID of the sender of a live groupchat message from
// one of our rooms, "" when the room did not show it. Only the occupant's
// presence counts (the room writes it): a muc#user item inside a message
// may have been put there by the sender, and the JID picks the sessions
// the message is decrypted with.
func (l *Listener) realJID(m *stanza.Message) string {
	_, nick, _ := strings.Cut(m.From, "/")
	l.rooms.mu.Lock()
	defer l.rooms.mu.Unlock()
	r := l.rooms.find(m.From)
	if r == nil || nick == "" {
		return ""
	}
	return r.real[nick]
}

// roomInfo describes the sender of m. Only a live message takes the real
// JID from the occupant's presence: the nick of an archived one may have
// been someone else's then.
func (l *Listener) roomInfo(r *roomState, m *stanza.Message, rec *store.Message, live bool) *RoomInfo {
	_, nick, _ := strings.Cut(m.From, "/")
	info := &RoomInfo{Room: r.JID, Nick: nick, OccupantID: muc.OccupantID(m.Ext)}
	if u, ok := muc.ParseUser(m.Ext); ok {
		info.RealJID = u.JID
	}
	if info.RealJID == "" && nick != "" && live {
		l.rooms.mu.Lock()
		info.RealJID = r.real[nick]
		l.rooms.mu.Unlock()
	}
	if nick == r.Nick || (info.RealJID != "" && store.Bare(info.RealJID) == store.Bare(l.o.Self.Account)) {
		rec.Direction = store.Out
	} else {
		rec.Direction = store.In
		info.Mention = Mentions(rec.Body, r.Nick)
	}
	return info
}

// Mentions reports whether body names nick as a word (case-insensitive):
// "bot: deploy" and "ask @bot" mention "bot", "robots" does not.
func Mentions(body, nick string) bool {
	if nick == "" {
		return false
	}
	lb, ln := strings.ToLower(body), strings.ToLower(nick)
	for i := 0; ; {
		j := strings.Index(lb[i:], ln)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(ln)
		before, _ := utf8.DecodeLastRuneInString(lb[:start])
		after, _ := utf8.DecodeRuneInString(lb[end:])
		if (start == 0 || !wordRune(before)) && (end == len(lb) || !wordRune(after)) {
			return true
		}
		i = start + 1
	}
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
