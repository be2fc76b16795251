package si

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/socks5"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Offer is an incoming SI file offer. Its IQ is answered by Accept or
// Decline; the handler waits for one of them.
type Offer struct {
	m         *Manager
	Peer      string
	SID       string
	Name      string
	Size      int64
	MediaType string
	Desc      string
	Date      string
	MD5       string
	methods   []string

	answer chan answer      // to the waiting si handler
	stream chan streamReady // from the bytestream handlers
	// s5b is set when the user accepted the offer with SOCKS5: until then
	// the sender's streamhosts are refused, never dialed (an offer still
	// waiting on the "Accept?" prompt causes no network action).
	s5b atomic.Bool
}

type answer struct {
	method string
	err    error
}

type streamReady struct {
	conn      io.ReadWriteCloser
	transport string
}

// answerWait bounds how long an offer's IQ waits for Accept or Decline.
const answerWait = 60 * time.Second

func (m *Manager) handleSI(ctx context.Context, iq *stanza.IQ) (any, error) {
	if iq.Type != stanza.SetIQ {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.BadRequest}
	}
	s, err := ParseSI(iq.Query)
	if err != nil || s.ID == "" {
		return nil, &stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest}
	}
	if s.Profile != NSProfile || s.File == nil {
		return nil, &stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest, Text: "unknown profile"}
	}
	if !m.accepting.Load() {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.Forbidden, Text: "Offer Declined"}
	}
	o := &Offer{m: m, Peer: iq.From, SID: s.ID, Name: s.File.Name, Size: s.File.Size, MediaType: s.MimeType,
		Desc: s.File.Desc, Date: s.File.Date, MD5: strings.ToLower(s.File.Hash), methods: s.methods(),
		answer: make(chan answer, 1), stream: make(chan streamReady, 1)}
	if _, dup := m.offers.LoadOrStore(o.Peer, o.SID, o); dup {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.Conflict}
	}
	select {
	case m.incoming <- o:
	default:
		m.forget(o)
		return nil, &stanza.Error{Type: stanza.Wait, Condition: stanza.ResourceConstraint}
	}
	select {
	case a := <-o.answer:
		if a.err != nil {
			m.forget(o)
			return nil, a.err
		}
		return SI{Feature: answerFeature(a.method)}, nil
	case <-time.After(answerWait):
	case <-ctx.Done():
	}
	m.forget(o)
	return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.Forbidden, Text: "Offer Declined"}
}

func (m *Manager) forget(o *Offer) {
	m.offers.Remove(o.Peer, o.SID, o)
}

func (m *Manager) lookup(peer, sid string) *Offer {
	o, _ := m.offers.Get(peer, sid)
	return o
}

// handleStreamHosts is the target's side of XEP-0065: connect to the
// first streamhost that works and name it.
func (m *Manager) handleStreamHosts(ctx context.Context, iq *stanza.IQ) (any, error) {
	if iq.Type != stanza.SetIQ {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.FeatureNotImplemented}
	}
	q, err := socks5.ParseQuery(iq.Query)
	if err != nil {
		return nil, &stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest}
	}
	o := m.lookup(iq.From, q.SID)
	if o == nil || !o.s5b.Load() {
		return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.NotAcceptable}
	}
	dst := socks5.DstAddr(q.SID, iq.From, m.s.JID())
	for _, h := range q.StreamHosts {
		if h.Host == "" || h.Port <= 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := socks5.Dial(cctx, h.Host, h.Port, dst)
		cancel()
		if err != nil {
			continue
		}
		tr := "s5b-direct"
		if h.JID != iq.From {
			tr = "s5b-proxy"
		}
		select {
		case o.stream <- streamReady{c, tr}:
		default:
			c.Close()
			return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.NotAcceptable}
		}
		return socks5.Query{SID: q.SID, Used: &socks5.Used{JID: h.JID}}, nil
	}
	return nil, &stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "no streamhost reachable"}
}

// Decline refuses the offer.
func (o *Offer) Decline() {
	o.answer <- answer{err: &stanza.Error{Type: stanza.Cancel, Condition: stanza.Forbidden, Text: "Offer Declined"}}
}

// Receive accepts the offer, writes the data to w and, when the offer
// carried an MD5, checks it before calling commit.
func (o *Offer) Receive(ctx context.Context, w io.Writer, commit func() error, opts Options) (*jingle.Result, error) {
	opts.defaults()
	defer o.m.forget(o)
	method := ""
	for _, want := range []string{MethodS5B, MethodIBB} {
		if (want == MethodS5B && !opts.Transport.AllowsS5B()) || (want == MethodIBB && !opts.Transport.AllowsIBB()) {
			continue
		}
		for _, have := range o.methods {
			if have == want && method == "" {
				method = want
			}
		}
	}
	if method == "" {
		o.answer <- answer{err: &stanza.Error{Type: stanza.Cancel, Condition: stanza.BadRequest, Text: "no-valid-streams"}}
		return nil, fmt.Errorf("%s offered no stream method we accept", o.Peer)
	}
	if method == MethodIBB {
		o.m.ibb.Expect(o.Peer, o.SID)
	} else {
		o.s5b.Store(true)
	}
	o.answer <- answer{method: method}
	res := &jingle.Result{SID: o.SID, Peer: o.Peer, Name: o.Name, Size: o.Size}
	var stream io.ReadWriteCloser
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if method == MethodIBB {
		c, err := o.m.ibb.Accept(wctx, o.Peer, o.SID)
		if err != nil {
			return nil, err
		}
		stream, res.Transport = c, "ibb"
	} else {
		select {
		case r := <-o.stream:
			stream, res.Transport = r.conn, r.transport
		case <-wctx.Done():
			return nil, fmt.Errorf("wait for %s's streamhosts: %w", o.Peer, wctx.Err())
		}
	}
	defer stream.Close()
	h := md5.New()
	n, err := copyN(ctx, w, stream, o.Size, h, opts.Progress, opts.Timeout)
	if err == nil && n < o.Size {
		err = fmt.Errorf("stream ended after %d of %d bytes", n, o.Size)
	}
	if err != nil {
		return nil, fmt.Errorf("receive data: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	res.HashText = "md5:" + sum
	if o.MD5 != "" {
		if o.MD5 != sum {
			return nil, fmt.Errorf("%s from %s: %w", o.Name, o.Peer, ErrHashMismatch)
		}
		res.Verified = true
	}
	if err := commit(); err != nil {
		return nil, err
	}
	switch c := stream.(type) {
	case net.Conn:
		// Closing tells a SOCKS5 sender that everything arrived.
		c.Close()
	case *ibb.Conn:
		// The sender closes once its last block is acknowledged; a close
		// of ours would race it (and it may not wait for our answer).
		wctx, cancel := context.WithTimeout(ctx, closeWait)
		c.WaitClosed(wctx)
		cancel()
		c.Forget()
	}
	return res, nil
}
