package jingle

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
)

// transport is the negotiated transport of one session's content, seen the
// same way by the session logic whatever carries the bytes: SOCKS5
// bytestreams (XEP-0260, *s5b) or in-band bytestreams (XEP-0261, *ibbT).
// The session offers or accepts with element, hands over the peer's
// <transport/> with setRemote and calls open once the session-accept is
// out (responder) or in (initiator). Only the constructors below choose
// the kind; SendFile and Receive do not branch on it.
type transport interface {
	// method is the kind, to check the peer's answer and name the result.
	method() Method
	// element is the <transport/> payload we offer or accept with.
	element() any
	// setRemote takes the peer's transport of the same method: from the
	// offer (responder) or from the session-accept or transport-accept
	// (initiator).
	setRemote(r remoteTransport)
	// open returns the stream, and for SOCKS5 the candidate that carries
	// it. An error wrapping errNoCandidate means the transport could not be
	// established and a transport-replace to IBB may follow.
	open(ctx context.Context) (io.ReadWriteCloser, *Candidate, error)
	// close releases what the transport holds (listeners); the stream
	// is closed by its user.
	close()
}

// remoteTransport is the peer's <transport/> of a content, decoded: kind is
// MethodS5B or MethodIBB ("" for none) and the matching field is set.
type remoteTransport struct {
	kind Method
	s5b  *S5BTransport
	ibb  *IBBTransport
}

// offerTransport is the initiator's transport for a new session: in-band
// when the user asked for it, SOCKS5 otherwise (auto falls back later).
func offerTransport(sess *Session, sid string, opts *Options) (transport, error) {
	if opts.Transport == MethodIBB {
		return newIBBInitiator(sess, sid, opts), nil
	}
	return newS5B(sess, sid, opts, nil)
}

// acceptTransport is the responder's transport for the offer o. On an
// error it also returns the condition to end the session with.
func acceptTransport(sess *Session, o *Offer, opts *Options) (transport, string, error) {
	switch o.Transport {
	case MethodS5B:
		exclude := map[string]bool{}
		for _, c := range o.s5b.Candidates {
			exclude[net.JoinHostPort(c.Host, strconv.Itoa(c.Port))] = true
		}
		t, err := newS5B(sess, o.s5b.SID, opts, exclude)
		if err != nil {
			return nil, ReasonGeneralError, err
		}
		if opts.Transport.AllowsS5B() {
			t.setRemote(remoteTransport{kind: MethodS5B, s5b: o.s5b})
		}
		return t, "", nil
	case MethodIBB:
		if !opts.Transport.AllowsIBB() {
			return nil, ReasonUnsupportedTransprt, fmt.Errorf("%s offers only in-band transfer, and --transport s5b forbids it", sess.Peer)
		}
		return newIBBResponder(sess, o.ibb, opts), "", nil
	}
	// parseOffer admits no other kind.
	return nil, ReasonUnsupportedTransprt, fmt.Errorf("%s offers an unknown transport", sess.Peer)
}

// ibbT is an XEP-0261 in-band transport. The initiator opens the IBB
// stream, the responder expects and accepts it.
type ibbT struct {
	sess      *Session
	sid       string
	blockSize int // offered (initiator) or accepted (responder)
	initiator bool
	opts      *Options
}

// newIBBInitiator offers an in-band transport with our block size.
func newIBBInitiator(sess *Session, sid string, opts *Options) *ibbT {
	return &ibbT{sess: sess, sid: sid, blockSize: opts.BlockSize, initiator: true, opts: opts}
}

// newIBBResponder accepts the peer's in-band transport with a block size no
// larger than the offered one, ours and the manager's limit, and expects
// its stream.
func newIBBResponder(sess *Session, offered *IBBTransport, opts *Options) *ibbT {
	bs := min(offered.BlockSize, opts.BlockSize, sess.m.ibb.MaxBlock())
	if bs <= 0 {
		bs = min(opts.BlockSize, sess.m.ibb.MaxBlock())
	}
	sess.m.ibb.Expect(sess.Peer, offered.SID)
	return &ibbT{sess: sess, sid: offered.SID, blockSize: bs, opts: opts}
}

func (t *ibbT) method() Method { return MethodIBB }

func (t *ibbT) element() any { return IBBTransport{BlockSize: t.blockSize, SID: t.sid} }

// setRemote lowers the initiator's block size to what the responder
// accepted; the responder took the offer's in newIBBResponder.
func (t *ibbT) setRemote(r remoteTransport) {
	if t.initiator && r.ibb != nil && r.ibb.BlockSize > 0 && r.ibb.BlockSize < t.blockSize {
		t.blockSize = r.ibb.BlockSize
	}
}

func (t *ibbT) open(ctx context.Context) (io.ReadWriteCloser, *Candidate, error) {
	octx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	if t.initiator {
		c, err := t.sess.m.ibb.Open(octx, t.sess.Peer, t.sid, t.blockSize)
		if err != nil {
			return nil, nil, err
		}
		return c, nil, nil
	}
	c, err := t.sess.m.ibb.Accept(octx, t.sess.Peer, t.sid)
	if err != nil {
		return nil, nil, err
	}
	return c, nil, nil
}

func (t *ibbT) close() {}
