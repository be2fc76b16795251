package jingle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"time"

	"github.com/xmppctl/xmppctl/pkg/socks5"
)

// Type preferences of XEP-0260 §2.2: priority = 2^16·type + local.
const (
	prefDirect = 126
	prefProxy  = 10
)

// Options tune a transfer.
type Options struct {
	// Transport is MethodAuto (SOCKS5, falling back to IBB), MethodS5B
	// or MethodIBB.
	Transport Method
	// CandidateAddrs are the local IPs offered as direct candidates; empty
	// offers none.
	CandidateAddrs []string
	// Proxy is the server's XEP-0065 proxy, offered as a mediated
	// candidate; nil offers none.
	Proxy *socks5.StreamHost
	// BlockSize is the IBB block size to propose or accept at most.
	BlockSize int
	// CandidateTimeout bounds the connection to one candidate (5 s).
	CandidateTimeout time.Duration
	// Timeout bounds each wait on the peer (30 s), including the wait for
	// the next bytes of the transfer: a transfer in which nothing moves for
	// that long ends with a stall.Error.
	Timeout time.Duration
	// Progress is called with the number of bytes moved so far.
	Progress func(done int64)
}

func (o *Options) defaults() {
	if o.Transport == "" {
		o.Transport = MethodAuto
	}
	if o.BlockSize <= 0 {
		o.BlockSize = 4096
	}
	if o.CandidateTimeout <= 0 {
		o.CandidateTimeout = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
}

// s5b is one XEP-0260 negotiation.
type s5b struct {
	sess      *Session
	sid       string
	self      string
	peer      string
	initiator bool
	opts      *Options

	local     []localCand
	remote    []Candidate
	remoteDst string // the peer's dstaddr for its candidates, if given
}

type localCand struct {
	Candidate
	ln    *socks5.Listener // direct candidates
	proxy *socks5.StreamHost
}

// newS5B opens listeners for the direct candidates and lists the proxy.
// exclude lists host:port pairs the peer offered already (XEP-0260 §2.2:
// the responder must not offer those again).
func newS5B(sess *Session, sid string, opts *Options, exclude map[string]bool) (*s5b, error) {
	t := &s5b{sess: sess, sid: sid, self: sess.m.s.JID(), peer: sess.Peer, initiator: sess.initiator, opts: opts}
	for i, ip := range opts.CandidateAddrs {
		ln, err := socks5.Listen(ip)
		if err != nil {
			t.close()
			return nil, fmt.Errorf("listen for direct connections on %s: %w", ip, err)
		}
		t.local = append(t.local, localCand{ln: ln, Candidate: Candidate{CID: newID(), Host: ip, Port: ln.Port,
			JID: t.self, Type: TypeDirect, Priority: prefDirect<<16 + uint32(65535-min(i, 65535))}})
	}
	if p := opts.Proxy; p != nil && !exclude[net.JoinHostPort(p.Host, fmt.Sprint(p.Port))] {
		t.local = append(t.local, localCand{proxy: p, Candidate: Candidate{CID: newID(), Host: p.Host, Port: p.Port,
			JID: p.JID, Type: TypeProxy, Priority: prefProxy << 16}})
	}
	// Our listeners expect the hash with us as the offering party.
	dst := socks5.DstAddr(sid, t.self, t.peer)
	for _, c := range t.local {
		if c.ln != nil {
			c.ln.Expect(dst)
		}
	}
	return t, nil
}

func (t *s5b) method() Method { return MethodS5B }

// element is the <transport/> offering our candidates.
func (t *s5b) element() any {
	tr := S5BTransport{SID: t.sid, Mode: "tcp", DstAddr: socks5.DstAddr(t.sid, t.self, t.peer)}
	for _, c := range t.local {
		tr.Candidates = append(tr.Candidates, c.Candidate)
	}
	return tr
}

// setRemote takes the peer's candidates, best first.
func (t *s5b) setRemote(r remoteTransport) {
	tr := r.s5b
	t.remote = append([]Candidate(nil), tr.Candidates...)
	sort.SliceStable(t.remote, func(i, j int) bool { return t.remote[i].Priority > t.remote[j].Priority })
	t.remoteDst = tr.DstAddr
}

func (t *s5b) close() {
	for _, c := range t.local {
		if c.ln != nil {
			c.ln.Close()
		}
	}
}

type dialResult struct {
	cand Candidate
	conn net.Conn
}

// dialRemote tries the peer's candidates by priority, each for at most
// CandidateTimeout, and returns the first that completes the handshake.
func (t *s5b) dialRemote(ctx context.Context) (dialResult, bool) {
	dst := t.remoteDst
	if dst == "" {
		dst = socks5.DstAddr(t.sid, t.peer, t.self)
	}
	for _, c := range t.remote {
		if c.Host == "" || c.Port <= 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, t.opts.CandidateTimeout)
		conn, err := socks5.Dial(cctx, c.Host, c.Port, dst)
		cancel()
		if err == nil {
			return dialResult{c, conn}, true
		}
		if ctx.Err() != nil {
			break
		}
	}
	return dialResult{}, false
}

func (t *s5b) info(ctx context.Context, tr S5BTransport) error {
	tr.SID = t.sid
	c := t.sess.contentRef()
	c.Payload = []any{tr}
	return t.sess.send(ctx, Jingle{Action: ActTransportInfo, Contents: []Content{c}})
}

// errNoCandidate means both sides reported candidate-error.
var errNoCandidate = errors.New("no SOCKS5 candidate worked")

// open negotiates the SOCKS5 stream.
func (t *s5b) open(ctx context.Context) (io.ReadWriteCloser, *Candidate, error) {
	return t.negotiate(ctx)
}

// negotiate runs candidate exchange and nomination and returns the
// stream. Both sides run the same procedure (XEP-0260 §2.3–2.4).
func (t *s5b) negotiate(ctx context.Context) (io.ReadWriteCloser, *Candidate, error) {
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	dialc := make(chan dialResult, 1)
	go func() {
		r, ok := t.dialRemote(dctx)
		if !ok {
			r = dialResult{}
		}
		dialc <- r
	}()

	var (
		ours      *dialResult // what we connected to (or nil after candidate-error)
		oursDone  bool
		peerCID   string
		peerDone  bool
		activated = map[string]bool{}
	)
	cleanup := func() {
		if ours != nil && ours.conn != nil {
			ours.conn.Close()
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, t.opts.Timeout+t.opts.CandidateTimeout*time.Duration(len(t.remote)+1))
	defer wcancel()
	// Actions that arrived before negotiation started (overtaking the
	// session-accept) are handled first.
	early := t.sess.takePending()
	for !oursDone || !peerDone {
		var next *Jingle
		if len(early) > 0 {
			next, early = early[0], early[1:]
		}
		if next != nil {
			tr, err := t.transportInfo(next)
			if err != nil {
				cleanup()
				return nil, nil, err
			}
			if tr != nil {
				t.note(tr, &peerCID, &peerDone, activated)
				if tr.ProxyError != nil {
					cleanup()
					return nil, nil, fmt.Errorf("peer could not use the proxy: %w", errNoCandidate)
				}
			}
			continue
		}
		select {
		case r := <-dialc:
			oursDone = true
			var tr S5BTransport
			if r.conn != nil {
				ours = &r
				tr.CandidateUsed = &CID{CID: r.cand.CID}
			} else {
				tr.CandidateError = &Empty{}
			}
			if err := t.info(wctx, tr); err != nil {
				cleanup()
				return nil, nil, err
			}
		case j := <-t.sess.events:
			tr, err := t.transportInfo(j)
			if err != nil {
				cleanup()
				return nil, nil, err
			}
			if tr == nil {
				continue
			}
			t.note(tr, &peerCID, &peerDone, activated)
			if tr.ProxyError != nil {
				cleanup()
				return nil, nil, fmt.Errorf("peer could not use the proxy: %w", errNoCandidate)
			}
		case <-t.sess.ended:
			cleanup()
			return nil, nil, t.sess.endedErr()
		case <-wctx.Done():
			cleanup()
			return nil, nil, fmt.Errorf("SOCKS5 negotiation with %s: %w", t.peer, wctx.Err())
		}
	}
	var peerCand *localCand
	if peerCID != "" {
		for i := range t.local {
			if t.local[i].CID == peerCID {
				peerCand = &t.local[i]
			}
		}
		if peerCand == nil {
			cleanup()
			return nil, nil, fmt.Errorf("peer used unknown candidate %q", peerCID)
		}
	}
	useOurs := false
	switch {
	case ours == nil && peerCand == nil:
		return nil, nil, errNoCandidate
	case peerCand == nil:
		useOurs = true
	case ours == nil:
		useOurs = false
	case ours.cand.Priority != peerCand.Priority:
		useOurs = ours.cand.Priority > peerCand.Priority
	default:
		useOurs = t.initiator // the initiator's choice wins a tie
	}
	if useOurs {
		// The peer offered it; for a proxy the peer activates it.
		if ours.cand.Type == TypeProxy && !activated[ours.cand.CID] {
			if err := t.waitActivated(wctx, ours.cand.CID); err != nil {
				cleanup()
				return nil, nil, err
			}
		}
		c := ours.cand
		return ours.conn, &c, nil
	}
	cleanup()
	c := peerCand.Candidate
	if peerCand.ln != nil {
		lctx, lcancel := context.WithTimeout(wctx, t.opts.CandidateTimeout)
		defer lcancel()
		conn, err := peerCand.ln.Wait(lctx, socks5.DstAddr(t.sid, t.self, t.peer))
		if err != nil {
			return nil, nil, fmt.Errorf("peer reported candidate %s used but never connected: %w", c.CID, err)
		}
		return conn, &c, nil
	}
	conn, err := t.activate(wctx, peerCand)
	if err != nil {
		_ = t.info(ctx, S5BTransport{ProxyError: &Empty{}})
		return nil, nil, err
	}
	return conn, &c, nil
}

// activate connects to our own proxy candidate and activates it.
func (t *s5b) activate(ctx context.Context, c *localCand) (net.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, t.opts.CandidateTimeout)
	conn, err := socks5.Dial(cctx, c.proxy.Host, c.proxy.Port, socks5.DstAddr(t.sid, t.self, t.peer))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("connect to proxy %s: %w", c.proxy.JID, err)
	}
	if err := socks5.Activate(ctx, t.sess.m.s, c.proxy.JID, t.sid, t.peer); err != nil {
		conn.Close()
		return nil, err
	}
	if err := t.info(ctx, S5BTransport{Activated: &CID{CID: c.CID}}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (t *s5b) waitActivated(ctx context.Context, cid string) error {
	for _, j := range t.sess.takePending() {
		if tr, _ := t.transportInfo(j); tr != nil && tr.Activated != nil && tr.Activated.CID == cid {
			return nil
		}
	}
	for {
		select {
		case j := <-t.sess.events:
			tr, err := t.transportInfo(j)
			if err != nil {
				return err
			}
			if tr != nil && tr.Activated != nil && tr.Activated.CID == cid {
				return nil
			}
			if tr != nil && tr.ProxyError != nil {
				return fmt.Errorf("peer could not activate the proxy: %w", errNoCandidate)
			}
		case <-t.sess.ended:
			return t.sess.endedErr()
		case <-ctx.Done():
			return fmt.Errorf("wait for proxy activation: %w", ctx.Err())
		}
	}
}

// transportInfo extracts our transport from a transport-info; other
// actions during negotiation are protocol errors except a
// transport-replace, which is kept for the caller.
func (t *s5b) transportInfo(j *Jingle) (*S5BTransport, error) {
	switch j.Action {
	case ActTransportInfo:
	case ActTransportReplace:
		t.sess.requeue(j)
		return nil, errNoCandidate
	default:
		return nil, nil
	}
	for _, c := range j.Contents {
		r, err := transportOf(c)
		if err != nil {
			return nil, err
		}
		if r.kind == MethodS5B && r.s5b.SID == t.sid {
			return r.s5b, nil
		}
	}
	return nil, nil
}

// note records what a transport-info says.
func (t *s5b) note(tr *S5BTransport, peerCID *string, peerDone *bool, activated map[string]bool) {
	switch {
	case tr.CandidateUsed != nil:
		*peerCID, *peerDone = tr.CandidateUsed.CID, true
	case tr.CandidateError != nil:
		*peerDone = true
	case tr.Activated != nil:
		activated[tr.Activated.CID] = true
	}
}
