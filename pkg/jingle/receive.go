package jingle

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/ibb"
)

// Sink is where received data goes: written once, read back only when the
// sender's checksum uses an algorithm we did not compute while receiving.
type Sink interface {
	io.Writer
	io.ReaderAt
}

// Decline refuses the offer.
func (s *Session) Decline(ctx context.Context, r Reason) error {
	if r.Condition == "" {
		r.Condition = ReasonDecline
	}
	return s.Terminate(ctx, r)
}

// Receive accepts the offer, writes the file to sink, verifies it against
// the sender's hash (from the offer or a checksum session-info) and then
// calls commit; only when commit succeeds does it end the session with
// success. On a mismatch it ends the session with media-error and returns
// ErrHashMismatch without calling commit.
func (s *Session) Receive(ctx context.Context, sink Sink, commit func() error, opts Options) (*Result, error) {
	opts.defaults()
	o := s.offer
	s.mu.Lock()
	s.contentCreator, s.contentName, s.contentSenders = o.content.Creator, o.content.Name, o.content.Senders
	s.mu.Unlock()
	defer s.m.forget(s)
	res := &Result{SID: s.SID, Peer: s.Peer, Name: o.Name, Size: o.Size}
	terminate := func(cond, text string) {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Terminate(tctx, Reason{Condition: cond, Text: text})
	}

	tr, cond, err := acceptTransport(s, o, &opts)
	if err != nil {
		terminate(cond, "")
		return nil, err
	}
	defer tr.close()
	size := o.Size
	desc := Description{XMLName: xmlName(o.ns, "description"), File: &File{Name: o.Name, MediaType: o.MediaType, Date: o.Date}}
	if size >= 0 {
		desc.File.Size = &size
	}
	content := s.contentRef()
	content.Payload = []any{desc, tr.element()}
	actx, cancel := context.WithTimeout(ctx, opts.Timeout)
	err = s.send(actx, Jingle{Action: ActSessionAccept, Contents: []Content{content}})
	cancel()
	if err != nil {
		return nil, err
	}

	kind := tr.method()
	stream, cand, err := tr.open(ctx)
	if errors.Is(err, errNoCandidate) && opts.Transport.AllowsIBB() {
		kind = MethodIBB
		stream, err = s.acceptReplace(ctx, &opts)
	}
	if err != nil {
		if perr := s.peerEnded(); perr != nil {
			return nil, perr
		}
		if ctx.Err() != nil {
			terminate(ReasonCancel, "")
		} else {
			terminate(ReasonConnectivityError, "")
		}
		return nil, err
	}
	defer stream.Close()
	res.Transport = transportName(kind, cand)

	// Hash while receiving with every announced algorithm we know, and
	// SHA-256 in any case.
	algos := map[string]hash.Hash{}
	for _, a := range append(append([]string{hashes.Preferred}, o.Algos...), algoNames(o.Hashes)...) {
		if h, err := hashes.New(a); err == nil {
			algos[a] = h
		}
	}
	var hs []hash.Hash
	for _, h := range algos {
		hs = append(hs, h)
	}
	dctx, progress, endData := s.dataPhase(ctx, stream, opts)
	var n int64
	if conn, ok := inlinePath(sink, stream); ok && o.Size >= 0 {
		n, err = copyInline(dctx, conn, sink, conn, o.Size, hs, progress, s.ended)
	} else {
		n, err = pump(dctx, sink, stream, o.Size, hs, progress, s.ended)
	}
	endData()
	if err == nil && o.Size >= 0 && n < o.Size {
		err = fmt.Errorf("stream ended after %d of %d bytes", n, o.Size)
	}
	if err != nil {
		if perr := s.peerEnded(); perr != nil {
			return nil, perr
		}
		if ctx.Err() != nil {
			terminate(ReasonCancel, "")
			return nil, ctx.Err()
		}
		terminate(failReason(err, ReasonFailedTransport))
		return nil, errTransfer("receive data", err)
	}
	res.Size = n
	if c, ok := stream.(*ibb.Conn); ok {
		// The sender closes after its last acknowledged block; a close of
		// ours would race it.
		wctx, cancel := context.WithTimeout(ctx, closeWait)
		c.WaitClosed(wctx)
		cancel()
		c.Forget()
	}

	want, ok := hashes.Pick(o.Hashes)
	if !ok {
		want, ok = s.waitChecksum(ctx, opts.Timeout)
	}
	if ok {
		h, computed := algos[want.Algo]
		if !computed {
			h, _ = hashes.New(want.Algo)
			if _, err := io.Copy(h, io.NewSectionReader(sink, 0, n)); err != nil {
				terminate(ReasonFailedApplication, "")
				return nil, fmt.Errorf("re-read received data: %w", err)
			}
		}
		sum := h.Sum(nil)
		if !want.Matches(sum) {
			terminate(ReasonMediaError, "hash mismatch")
			return nil, fmt.Errorf("%s from %s: %w", o.Name, s.Peer, ErrHashMismatch)
		}
		res.Hash, res.Verified = want, true
	} else {
		res.Hash = hashes.Sum(hashes.Preferred, algos[hashes.Preferred])
	}
	res.HashText = res.Hash.String()
	if perr := s.peerEnded(); perr != nil {
		var te *TerminatedError
		if !errors.As(perr, &te) || te.Reason.Condition != ReasonSuccess {
			return nil, perr
		}
	}
	if err := commit(); err != nil {
		terminate(ReasonFailedApplication, "could not store the file")
		return nil, err
	}
	terminate(ReasonSuccess, "")
	return res, nil
}

func algoNames(hs []hashes.Hash) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Algo)
	}
	return out
}

// waitChecksum waits for a checksum session-info with a hash we support.
func (s *Session) waitChecksum(ctx context.Context, d time.Duration) (hashes.Hash, bool) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		s.mu.Lock()
		h, ok := hashes.Pick(s.checksum)
		s.mu.Unlock()
		if ok {
			return h, true
		}
		select {
		case <-s.notify:
		case <-s.ended:
			s.mu.Lock()
			h, ok := hashes.Pick(s.checksum)
			s.mu.Unlock()
			return h, ok
		case <-wctx.Done():
			return hashes.Hash{}, false
		}
	}
}

// acceptReplace is the responder's side of the IBB fallback: wait for the
// initiator's transport-replace, accept it and collect the stream.
func (s *Session) acceptReplace(ctx context.Context, opts *Options) (io.ReadWriteCloser, error) {
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	for {
		j, err := s.next(wctx)
		if err != nil {
			return nil, err
		}
		if j.Action != ActTransportReplace {
			continue
		}
		var ib *IBBTransport
		for _, c := range j.Contents {
			if r, _ := transportOf(c); r.ibb != nil {
				ib = r.ibb
			}
		}
		c := s.contentRef()
		if ib == nil {
			_ = s.send(wctx, Jingle{Action: ActTransportReject, Contents: []Content{c}})
			continue
		}
		t := newIBBResponder(s, ib, opts)
		c.Payload = []any{t.element()}
		if err := s.send(wctx, Jingle{Action: ActTransportAccept, Contents: []Content{c}}); err != nil {
			return nil, err
		}
		stream, _, err := t.open(wctx)
		return stream, err
	}
}
