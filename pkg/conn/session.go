package conn

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Options configure a connection.
type Options struct {
	JID         string // the account's bare JID, already validated
	Password    string
	Server      string // optional "host:port"; skips SRV
	TLSMode     string // "", "direct" or "starttls"
	TLS         TLSPolicy
	DataDir     string    // identity and mechanism memory; "" keeps nothing
	DebugXML    io.Writer // stream copy with credentials redacted; nil = off
	DialTimeout time.Duration
	Lookup      LookupSRV // nil = the system resolver
	// NoSM keeps XEP-0198 stream management off even where the server
	// offers it (it is on by default: acks per stanza, Flush by <r/>).
	NoSM bool
	// Unavailable withdraws at once the initial presence go-xmpp always
	// sends after login (it has no option to skip it): the account then
	// shows online to contacts only for the moment between the two, and
	// the server stops routing messages for the bare JID to this session.
	// For commands that only send or query; listeners leave it false.
	Unavailable bool
	// WatchPresence keeps the child elements of every available presence
	// received (see PresenceWatcher): go-xmpp drops them, entity
	// capabilities included. It decodes the incoming stream twice, so
	// only commands that choose peers by their capabilities set it.
	WatchPresence bool
	// OnOffline, when set, is called by Close of an Unavailable session
	// with the number of messages the server flushed to it from offline
	// storage: go-xmpp's initial presence asks for them, and the user
	// should know that they were delivered here (they stay in the
	// server's archive, where it keeps one). Not called for zero.
	OnOffline func(n int)
	// OnOversize, when set, is told about each incoming stanza over
	// MaxStanza that was dropped (bound.go): who sent it and its size.
	OnOversize func(from string, size int)

	bare, domain string
	// MaxStanza overrides the package's MaxStanza bound when not 0.
	MaxStanza int
	// viaRecv makes the receive loop go through go-xmpp's Recv (tests
	// compare both).
	viaRecv bool
	// viaDecoder makes it decode every stanza with go-xmpp's decoder
	// instead of framing the stream (tests of the paths' equivalence).
	viaDecoder bool
}

// LoginInfo is implemented by sessions from Dial: what the login saw, for
// diagnostics (xmppctl check). It is separate from Session so that test
// peers need not implement it.
type LoginInfo interface {
	// Target is the address the session is connected to.
	Target() Target
	// StreamFeatures returns every <stream:features> element the server
	// sent during login, oldest first, as raw XML (the "stream" prefix is
	// not declared inside it).
	StreamFeatures() [][]byte
}

// IQHandler answers an incoming IQ get or set. It returns the payload of
// the result (nil for an empty result) or an error; a *stanza.Error is sent
// as is, any other error as internal-server-error.
type IQHandler func(ctx context.Context, iq *stanza.IQ) (any, error)

// Session is what the protocol packages need of a connection.
type Session interface {
	// JID is the full JID bound for this session.
	JID() string
	// Domain is the account's server domain.
	Domain() string
	// Send writes one stanza (or any marshalable top-level element).
	Send(ctx context.Context, v any) error
	// SendIQ sends an IQ get/set and waits for its response. A response of
	// type error is returned together with its *stanza.Error.
	SendIQ(ctx context.Context, iq stanza.IQ) (*stanza.IQ, error)
	// Flush returns when the server has processed everything sent before.
	Flush(ctx context.Context) error
	// Subscribe queues incoming messages and presences from now on.
	Subscribe() Subscription
	// HandleIQ registers the handler for incoming IQs whose child has the
	// given namespace and local name.
	HandleIQ(space, local string, h IQHandler)
	// Done is closed when the stream has ended; Err then says why (nil
	// while it runs or after a clean Close).
	Done() <-chan struct{}
	Err() error
	// Close ends the stream politely.
	Close() error
}

type session struct {
	c      *xmpp.Client
	tap    *tap
	jid    string
	domain string
	target Target

	wmu    sync.Mutex    // serializes writes: go-xmpp's are not
	closed bool          // guarded by wmu: no more writes
	enc    stanzaEncoder // guarded by wmu
	w      net.Conn      // where stanzas are written directly, or nil (direct.go)

	mu         sync.Mutex
	pending    map[string]chan *stanza.IQ
	handlers   map[xml.Name]IQHandler
	subs       map[*Queue]struct{}
	subscribed bool            // a subscription was ever made
	early      []stanza.Stanza // stanzas that arrived before the first subscription
	ackWait    []ackWaiter     // Flush calls waiting for an <a/>, oldest first
	enabled    chan struct{}   // closed when SM <enabled/> or <failed/> arrived

	sm      atomic.Bool
	closing atomic.Bool
	offline atomic.Int32 // offline messages flushed to an Unavailable session

	unavailable bool                     // Options.Unavailable
	onOffline   func(int)                // Options.OnOffline
	maxStanza   int                      // Options.MaxStanza, else MaxStanza
	onOversize  func(from string, n int) // Options.OnOversize
	release     func()                   // hands the resource slot back (slot.go)
	relay       *relay                   // nil unless the login needed the relay (relay.go)
	dec         *xml.Decoder             // go-xmpp's, read by the receive loop itself (read.go); nil: Recv
	stream      *stream                  // the stream taken from dec (handoff.go); nil: read dec

	ctx    context.Context // lives as long as the session; for handlers
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Dial resolves the server, logs in and starts the receive loop.
func Dial(ctx context.Context, o Options) (Session, error) {
	bare, _, _ := strings.Cut(o.JID, "/")
	local, domain, ok := strings.Cut(bare, "@")
	if !ok || local == "" || domain == "" {
		return nil, fmt.Errorf("account %q is not a bare JID with a local part", o.JID)
	}
	o.bare, o.domain = bare, domain
	if o.DialTimeout == 0 {
		o.DialTimeout = 15 * time.Second
	}
	targets, err := Resolve(ctx, domain, o.Server, o.TLSMode, o.Lookup)
	if err != nil {
		return nil, err
	}
	ident := Identity{Resource: "xmppctl." + randomBase32(5), UserAgentID: uuid4()}
	release := func() {}
	if o.DataDir != "" {
		stored, err := LoadIdentity(o.DataDir)
		if err != nil {
			return nil, err
		}
		// Concurrent sessions of one data dir each get a slot (slot.go).
		if n, rel, ok := leaseSlot(o.DataDir); ok {
			ident, release = stored.forSlot(n), rel
		}
	}
	t := newTap(o.DebugXML)
	if o.WatchPresence {
		t.watch = newPresenceWatch()
	}
	c, tg, r, err := login(ctx, o, targets, ident, t)
	if err != nil {
		release()
		t.stopWatch()
		t.endLogin(nil)
		return nil, err
	}
	if r != nil {
		// go-xmpp saw the relay's copy of the features; the user asks
		// what the server offered. The relay acknowledges the server's
		// socket itself.
		feats, _ := r.endLogin()
		t.mu.Lock()
		t.features = feats
		t.mu.Unlock()
		t.endLogin(nil)
	} else {
		t.endLogin(quickAck(sockOf(c)))
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &session{
		c: c, tap: t, jid: c.JID(), domain: domain, target: tg,
		pending:  map[string]chan *stanza.IQ{},
		handlers: map[xml.Name]IQHandler{},
		subs:     map[*Queue]struct{}{},
		enabled:  make(chan struct{}),
		ctx:      sctx, cancel: cancel,
		done:        make(chan struct{}),
		unavailable: o.Unavailable, onOffline: o.OnOffline,
		maxStanza: cmp.Or(o.MaxStanza, MaxStanza), onOversize: o.OnOversize,
		release: release, relay: r, w: directWriter(c, t),
		dec: directReader(c, o),
	}
	go func() { <-s.done; release() }() // a lost session's slot is free for the reconnect
	if s.dec != nil && !o.viaDecoder {
		s.stream, _ = takeStream(s.dec, t, r)
	}
	if s.stream != nil && o.NoSM {
		t.mu.Lock()
		t.noRecvScan = true
		t.mu.Unlock()
	}
	go s.recvLoop()
	if err := s.takeWrites(ctx); err != nil {
		s.Close()
		return nil, &ConnectError{Addr: tg.Addr, Err: err}
	}
	if o.Unavailable {
		if err := s.Send(ctx, stanza.Presence{Type: stanza.UnavailablePresence}); err != nil {
			s.Close()
			return nil, err
		}
	}
	if !o.NoSM && smOffered(t.streamFeatures()) {
		if err := s.enableSM(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *session) JID() string           { return s.jid }
func (s *session) Domain() string        { return s.domain }
func (s *session) Done() <-chan struct{} { return s.done }
func (s *session) Target() Target        { return s.target }

// Err says why the stream ended; nil while it runs or after a clean Close.
func (s *session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

func (s *session) HandleIQ(space, local string, h IQHandler) {
	s.mu.Lock()
	s.handlers[xml.Name{Space: space, Local: local}] = h
	s.mu.Unlock()
}

// StreamFeatures implements LoginInfo.
func (s *session) StreamFeatures() [][]byte { return s.tap.streamFeatures() }

// NewID returns a random stanza id.
func NewID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *session) writeRaw(raw string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return s.deadErr()
	}
	if err := s.writeLine([]byte(raw + "\n")); err != nil {
		return &ConnectError{Addr: s.target.Addr, Err: fmt.Errorf("write: %w", err)}
	}
	return nil
}

func (s *session) deadErr() error {
	select {
	case <-s.done:
		if s.err != nil {
			return s.err
		}
	default:
	}
	return ErrClosed
}

// Send marshals v with encoding/xml and writes it.
func (s *session) Send(ctx context.Context, v any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.sendLocked(ctx, v)
}

// sendLocked is Send with wmu held.
func (s *session) sendLocked(ctx context.Context, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := s.enc.marshalLine(v)
	if err != nil {
		return fmt.Errorf("marshal stanza: %w", err)
	}
	defer s.enc.trim()
	if s.closed {
		return s.deadErr()
	}
	if err := s.writeLine(line); err != nil {
		return &ConnectError{Addr: s.target.Addr, Err: fmt.Errorf("write: %w", err)}
	}
	return nil
}

func (s *session) SendIQ(ctx context.Context, iq stanza.IQ) (*stanza.IQ, error) {
	ch, err := s.SendIQAsync(ctx, iq)
	if err != nil {
		return nil, err
	}
	resp, ok := <-ch
	switch {
	case ok && resp.Type == stanza.ErrorIQ:
		return resp, resp.Error
	case ok:
		return resp, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		return nil, s.deadErr()
	}
}

// fromMatches accepts a response from the addressee, or from our own
// server or account when the request had no "to".
func (s *session) fromMatches(to, from string) bool {
	if from == "" || from == to {
		return true
	}
	f := stanza.FullJID(from)
	if to == "" {
		return f == stanza.FullJID(s.domain) || f == stanza.BareJID(s.jid) || f == stanza.FullJID(s.jid)
	}
	return f == stanza.FullJID(to)
}

type ping struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}

// Flush is the barrier behind every "delivered" claim: with stream
// management an <r/> answered by <a/>, else a ping to the server, which
// processes a session's stanzas in order.
func (s *session) Flush(ctx context.Context) error {
	if s.sm.Load() {
		ch := make(chan struct{})
		s.wmu.Lock()
		if s.closed {
			s.wmu.Unlock()
			return s.deadErr()
		}
		s.mu.Lock()
		s.ackWait = append(s.ackWait, ackWaiter{upTo: s.tap.sm.outCount(), ch: ch})
		s.mu.Unlock()
		err := s.writeLine([]byte("<r xmlns='urn:xmpp:sm:3'/>\n"))
		s.wmu.Unlock()
		if err != nil {
			return &ConnectError{Addr: s.target.Addr, Err: err}
		}
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return s.deadErr()
		}
	}
	_, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: s.domain, Payload: ping{}})
	var se *stanza.Error
	if errors.As(err, &se) {
		return nil // an error reply is still proof of processing
	}
	return err
}

func (s *session) enableSM(ctx context.Context) error {
	if err := s.writeRaw("<enable xmlns='urn:xmpp:sm:3'/>"); err != nil {
		return err
	}
	select {
	case <-s.enabled:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return s.deadErr()
	}
}

// Close sends the closing stream tag, waits briefly for the server's, then
// lets go-xmpp close the socket once the receive loop has ended (go-xmpp's
// Close reads the stream itself and must not race our reader).
func (s *session) Close() error {
	// The slot first: a reconnect may dial while this close still waits
	// on a dead connection, and must bind the same resource.
	s.release()
	if s.closing.Swap(true) {
		<-s.done
		return nil
	}
	s.wmu.Lock()
	already := s.closed
	s.closed = true
	if !already {
		_ = s.writeLine([]byte("</stream:stream>\n"))
	}
	s.wmu.Unlock()
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
	}
	s.cancel()
	if s.relay != nil {
		s.relay.close() // it no longer ends with go-xmpp's side (stopWrites)
	}
	go s.c.Close() // reads until EOF; the server has closed or will soon
	if n := s.offline.Load(); n > 0 && s.onOffline != nil {
		s.onOffline(int(n))
	}
	return nil
}

// UnavailableExt implements PresenceWatcher; without Options.WatchPresence
// it waits for ctx.
func (s *session) UnavailableExt(ctx context.Context, jid string) ([]stanza.Element, error) {
	s.tap.mu.Lock()
	w := s.tap.watch
	s.tap.mu.Unlock()
	if w == nil {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return w.unavailable(ctx, jid)
}

// PresenceExt implements PresenceWatcher; without Options.WatchPresence it
// knows nothing.
func (s *session) PresenceExt(jid string) []stanza.Element {
	s.tap.mu.Lock()
	w := s.tap.watch
	s.tap.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.get(jid)
}
