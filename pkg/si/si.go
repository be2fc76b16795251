package si

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/xmppctl/xmppctl/internal/registry"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/socks5"
	"github.com/xmppctl/xmppctl/pkg/stall"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// closeWait bounds the polite end of an in-band stream whose data has all
// been acknowledged.
const closeWait = 5 * time.Second

// ErrDeclined is wrapped when the peer refused the offer.
var ErrDeclined = errors.New("the peer declined the file")

// ErrHashMismatch is returned when the data does not match the offer's MD5.
var ErrHashMismatch = errors.New("hash mismatch: the received file is not what was sent")

// Options tune a transfer (the same meaning as in package jingle).
type Options struct {
	Transport        jingle.Method
	CandidateAddrs   []string
	Proxy            *socks5.StreamHost
	BlockSize        int
	CandidateTimeout time.Duration
	Timeout          time.Duration
	Progress         func(int64)
}

func (o *Options) defaults() {
	if o.Transport == "" {
		o.Transport = jingle.MethodAuto
	}
	if o.BlockSize <= 0 {
		o.BlockSize = ibb.DefaultBlockSize
	}
	if o.CandidateTimeout <= 0 {
		o.CandidateTimeout = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
}

// FileInfo describes a file to offer. MD5 (hex), when known, lets the
// receiver check the data: XEP-0096 has no other integrity check.
type FileInfo struct {
	Name      string
	Size      int64
	MediaType string
	Desc      string
	Date      time.Time
	MD5       string
}

// Manager owns the SI and bytestream handlers of one connection.
type Manager struct {
	s   conn.Session
	ibb *ibb.Manager

	offers    registry.Map[*Offer]
	incoming  chan *Offer
	accepting atomic.Bool
}

// NewManager registers the SI and XEP-0065 handlers on s.
func NewManager(s conn.Session, ib *ibb.Manager) *Manager {
	m := &Manager{s: s, ibb: ib, incoming: make(chan *Offer, 16)}
	s.HandleIQ(NS, "si", m.handleSI)
	s.HandleIQ(socks5.NS, "query", m.handleStreamHosts)
	return m
}

// Incoming delivers file offers; each must be accepted or declined
// promptly (the offer's IQ waits for the answer). Until Incoming was
// called once, every offer is refused at once.
func (m *Manager) Incoming() <-chan *Offer {
	m.accepting.Store(true)
	return m.incoming
}

func newSID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SendFile offers a file with SI and streams it over the method the peer
// chose. With SOCKS5 it returns after the receiver closed the stream
// (having read everything); with IBB after the close was acknowledged.
func (m *Manager) SendFile(ctx context.Context, peer string, fi FileInfo, r io.Reader, opts Options) (*jingle.Result, error) {
	opts.defaults()
	sid := newSID()
	var methods []string
	if opts.Transport.AllowsS5B() {
		methods = append(methods, MethodS5B)
	}
	if opts.Transport.AllowsIBB() {
		methods = append(methods, MethodIBB)
	}
	offer := SI{ID: sid, MimeType: fi.MediaType, Profile: NSProfile,
		File:    &File{Name: fi.Name, Size: fi.Size, Hash: fi.MD5, Desc: fi.Desc, Range: nil},
		Feature: offerFeature(methods)}
	if !fi.Date.IsZero() {
		offer.File.Date = fi.Date.UTC().Format("2006-01-02T15:04:05Z")
	}
	// The offer's answer waits for a person on the other side.
	octx, cancel := context.WithTimeout(ctx, opts.Timeout)
	resp, err := m.s.SendIQ(octx, stanza.IQ{Type: stanza.SetIQ, To: peer, Payload: offer})
	cancel()
	if err != nil {
		var se *stanza.Error
		if errors.As(err, &se) && (se.Condition == stanza.Forbidden || se.Condition == stanza.NotAcceptable) {
			return nil, fmt.Errorf("%w: %s", ErrDeclined, se)
		}
		if errors.As(err, &se) && se.Condition == stanza.BadRequest {
			return nil, fmt.Errorf("%w: no common stream method (%s)", ErrDeclined, se)
		}
		return nil, fmt.Errorf("si offer: %w", err)
	}
	ans, err := ParseSI(resp.Query)
	if err != nil {
		return nil, err
	}
	chosen := ans.methods()
	if len(chosen) != 1 {
		return nil, fmt.Errorf("si offer: peer chose %d stream methods", len(chosen))
	}
	res := &jingle.Result{SID: sid, Peer: peer, Name: fi.Name, Size: fi.Size}
	var stream io.ReadWriteCloser
	switch chosen[0] {
	case MethodS5B:
		if !opts.Transport.AllowsS5B() {
			return nil, fmt.Errorf("si offer: peer chose SOCKS5, which was not offered")
		}
		var tr string
		stream, tr, err = m.requestS5B(ctx, peer, sid, &opts)
		res.Transport = tr
	case MethodIBB:
		if !opts.Transport.AllowsIBB() {
			return nil, fmt.Errorf("si offer: peer chose IBB, which was not offered")
		}
		octx, cancel := context.WithTimeout(ctx, opts.Timeout)
		var c *ibb.Conn
		c, err = m.ibb.Open(octx, peer, sid, opts.BlockSize)
		cancel()
		stream, res.Transport = c, "ibb"
	default:
		return nil, fmt.Errorf("si offer: peer chose unknown stream method %q", chosen[0])
	}
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	h := md5.New()
	n, err := copyN(ctx, stream, r, fi.Size, h, opts.Progress, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("send data: %w", err)
	}
	if n != fi.Size {
		return nil, fmt.Errorf("file changed while sending: read %d of %d bytes", n, fi.Size)
	}
	res.HashText = "md5:" + hex.EncodeToString(h.Sum(nil))
	switch c := stream.(type) {
	case *ibb.Conn:
		// Every block acknowledged means the receiver has everything; the
		// close only ends the stream (the receiver may be gone already).
		cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		err = c.Flush(cctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("send data: %w", err)
		}
		cctx, cancel = context.WithTimeout(ctx, closeWait)
		_ = c.CloseContext(cctx)
		cancel()
	case net.Conn:
		// The receiver closes once it has everything: wait for that.
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(opts.Timeout))
		if _, err := io.Copy(io.Discard, c); err != nil {
			return nil, fmt.Errorf("wait for %s to finish reading: %w", peer, err)
		}
	}
	// XEP-0096 has no confirmation: the receiver checks the MD5 (when the
	// offer carried one) but cannot tell us, so nothing is "verified" here.
	res.Verified = false
	return res, nil
}

// requestS5B offers our streamhosts (XEP-0065 §6) and returns the stream.
func (m *Manager) requestS5B(ctx context.Context, peer, sid string, opts *Options) (io.ReadWriteCloser, string, error) {
	self := m.s.JID()
	dst := socks5.DstAddr(sid, self, peer)
	q := socks5.Query{SID: sid, Mode: "tcp"}
	var lns []*socks5.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	got := make(chan net.Conn, len(opts.CandidateAddrs)+1)
	for _, ip := range opts.CandidateAddrs {
		l, err := socks5.Listen(ip)
		if err != nil {
			return nil, "", fmt.Errorf("listen for direct connections on %s: %w", ip, err)
		}
		lns = append(lns, l)
		ch := l.Expect(dst)
		go func() {
			if c, ok := <-ch; ok && c != nil {
				got <- c
			}
		}()
		q.StreamHosts = append(q.StreamHosts, socks5.StreamHost{JID: self, Host: ip, Port: l.Port})
	}
	if p := opts.Proxy; p != nil {
		q.StreamHosts = append(q.StreamHosts, *p)
	}
	if len(q.StreamHosts) == 0 {
		return nil, "", fmt.Errorf("no streamhost to offer (no direct address, no proxy)")
	}
	qctx, cancel := context.WithTimeout(ctx, opts.Timeout+opts.CandidateTimeout*time.Duration(len(q.StreamHosts)))
	defer cancel()
	resp, err := m.s.SendIQ(qctx, stanza.IQ{Type: stanza.SetIQ, To: peer, Payload: q})
	if err != nil {
		return nil, "", fmt.Errorf("offer streamhosts: %w", err)
	}
	ans, err := socks5.ParseQuery(resp.Query)
	if err != nil {
		return nil, "", err
	}
	if ans.Used == nil {
		return nil, "", fmt.Errorf("offer streamhosts: peer named no streamhost")
	}
	if ans.Used.JID == self {
		select {
		case c := <-got:
			return c, "s5b-direct", nil
		case <-qctx.Done():
			return nil, "", fmt.Errorf("peer reported a direct connection that never arrived: %w", qctx.Err())
		}
	}
	if p := opts.Proxy; p != nil && ans.Used.JID == p.JID {
		cctx, cancel := context.WithTimeout(ctx, opts.CandidateTimeout)
		c, err := socks5.Dial(cctx, p.Host, p.Port, dst)
		cancel()
		if err != nil {
			return nil, "", fmt.Errorf("connect to proxy %s: %w", p.JID, err)
		}
		if err := socks5.Activate(qctx, m.s, p.JID, sid, peer); err != nil {
			c.Close()
			return nil, "", err
		}
		return c, "s5b-proxy", nil
	}
	return nil, "", fmt.Errorf("peer used unknown streamhost %q", ans.Used.JID)
}

func copyN(ctx context.Context, dst io.Writer, src io.Reader, limit int64, h hash.Hash, progress func(int64), idle time.Duration) (int64, error) {
	// Nothing moving for idle ends the copy (see package stall).
	var moved atomic.Int64
	ctx, stop := stall.Watch(ctx, idle, stall.Sum(moved.Load, stall.TCPMoved(src), stall.TCPMoved(dst)))
	defer stop()
	defer stall.Interrupt(ctx, src, dst)()
	buf := make([]byte, 256<<10)
	var n int64
	last := time.Now()
	for limit < 0 || n < limit {
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
		want := int64(len(buf))
		if limit >= 0 && limit-n < want {
			want = limit - n
		}
		k, rerr := src.Read(buf[:want])
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
		if k > 0 {
			h.Write(buf[:k])
			if _, err := dst.Write(buf[:k]); err != nil {
				if ctx.Err() != nil {
					return n, context.Cause(ctx)
				}
				return n, err
			}
			n += int64(k)
			moved.Store(n)
			if progress != nil && time.Since(last) > 100*time.Millisecond {
				progress(n)
				last = time.Now()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, rerr
		}
	}
	if progress != nil {
		progress(n)
	}
	return n, nil
}

// MD5 hashes r, for FileInfo.MD5.
func MD5(r io.Reader) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
