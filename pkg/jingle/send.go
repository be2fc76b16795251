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

// FileInfo describes a file to offer.
type FileInfo struct {
	Name      string
	Size      int64
	MediaType string
	Desc      string
	Date      time.Time
	// Hash, when the caller computed it already, goes into the offer so
	// that the receiver can check while receiving.
	Hash *hashes.Hash
}

// SendFile offers a file to peer (a full JID) and, once accepted, streams
// r over the negotiated transport. It returns after the receiver ended the
// session with success (or acknowledged receipt); the receiver checks the
// SHA-256 that follows the data in a checksum session-info.
func (m *Manager) SendFile(ctx context.Context, peer string, fi FileInfo, r io.Reader, opts Options) (*Result, error) {
	opts.defaults()
	sess := m.newSession(peer, newID(), true)
	sess.contentCreator, sess.contentName, sess.contentSenders = "initiator", "a-file-offer", "initiator"
	defer m.forget(sess)
	res := &Result{SID: sess.SID, Peer: peer, Name: fi.Name, Size: fi.Size}

	terminate := func(cond, text string) {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = sess.Terminate(tctx, Reason{Condition: cond, Text: text})
	}

	tsid := newID()
	tr, err := offerTransport(sess, tsid, &opts)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	size := fi.Size
	// The algorithm is announced with <hash-used/> (XEP-0300 §4): an empty
	// <hash/>, which XEP-0234 also allows, makes libervia 0.9 reject the offer.
	// <desc/> is sent even when empty: libervia 0.9 fails on offers
	// without one (its confirmation text formats the description).
	desc := fi.Desc
	file := &File{Name: fi.Name, Size: &size, MediaType: fi.MediaType, Desc: &desc,
		HashUsed: []hashes.Used{{Algo: hashes.Preferred}}}
	if fi.Hash != nil {
		file.Hashes, file.HashUsed = []hashes.Hash{*fi.Hash}, nil
	}
	if !fi.Date.IsZero() {
		file.Date = fi.Date.UTC().Format("2006-01-02T15:04:05Z")
	}
	content := sess.contentRef()
	content.Payload = []any{Description{XMLName: xmlName(NSFT, "description"), File: file}, tr.element()}

	ictx, cancel := context.WithTimeout(ctx, opts.Timeout)
	err = sess.send(ictx, Jingle{Action: ActSessionInitiate, Contents: []Content{content}})
	cancel()
	if err != nil {
		return nil, err
	}

	// Wait for the answer: accept, or a terminate (decline).
	actx, cancel := context.WithTimeout(ctx, opts.Timeout)
	accept, err := sess.waitAction(actx, ActSessionAccept)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			terminate(ReasonTimeout, "no answer")
			return nil, fmt.Errorf("%s did not answer the offer: %w", peer, err)
		}
		if ctx.Err() != nil {
			terminate(ReasonCancel, "")
		}
		return nil, declined(err)
	}
	var ac *Content
	for i := range accept.Contents {
		if accept.Contents[i].Name == content.Name {
			ac = &accept.Contents[i]
		}
	}
	if ac == nil {
		terminate(ReasonGeneralError, "accept names no known content")
		return nil, fmt.Errorf("%s accepted without our content", peer)
	}
	remote, err := transportOf(*ac)
	if err == nil && remote.kind == "" {
		// libervia 0.9 may accept without a transport element: the
		// transport is the offered one, without candidates of its own.
		remote = remoteTransport{kind: tr.method(), s5b: &S5BTransport{SID: tsid}, ibb: &IBBTransport{SID: tsid}}
	}
	if err != nil || remote.kind != tr.method() {
		terminate(ReasonFailedTransport, "")
		return nil, fmt.Errorf("%s accepted with an unexpected transport", peer)
	}

	tr.setRemote(remote)
	kind := tr.method()
	stream, cand, err := tr.open(ctx)
	if errors.Is(err, errNoCandidate) && opts.Transport == MethodAuto {
		kind = MethodIBB
		stream, err = sess.replaceWithIBB(ctx, &opts)
	}
	if err != nil {
		if ctx.Err() != nil {
			terminate(ReasonCancel, "")
		} else if sess.peerEnded() == nil {
			terminate(ReasonConnectivityError, "")
		}
		return nil, declined(err)
	}
	res.Transport = transportName(kind, cand)

	h, _ := hashes.New(hashes.Preferred)
	dctx, progress, endData := sess.dataPhase(ctx, stream, opts)
	var n int64
	if conn, ok := inlinePath(r, stream); ok && fi.Size >= 0 {
		n, err = copyInline(dctx, conn, conn, r, fi.Size, []hash.Hash{h}, progress, sess.ended)
	} else {
		n, err = pump(dctx, stream, r, fi.Size, []hash.Hash{h}, progress, sess.ended)
	}
	endData()
	if err == nil && n != fi.Size {
		err = fmt.Errorf("file changed while sending: read %d of %d bytes", n, fi.Size)
	}
	if err != nil {
		// Whether the peer ended the session is asked before the stream
		// closes: a receiver that sees the stream end short (the file
		// shrank here) ends it with failed-transport, a consequence of
		// our failure that must not replace it in the report.
		perr := sess.peerEnded()
		stream.Close()
		if perr != nil {
			return nil, declined(perr)
		}
		if ctx.Err() != nil {
			terminate(ReasonCancel, "")
			return nil, ctx.Err()
		}
		terminate(failReason(err, ReasonMediaError))
		return nil, errTransfer("send data", err)
	}
	res.Hash = hashes.Sum(hashes.Preferred, h)
	res.HashText = res.Hash.String()
	closeWrite(stream)
	defer stream.Close()
	if c, ok := stream.(*ibb.Conn); ok {
		// All blocks acknowledged, then a close that need not be answered:
		// the receiver may end the session and leave at once.
		fctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		err := c.Flush(fctx)
		cancel()
		if err != nil {
			if perr := sess.peerEnded(); perr != nil {
				return nil, declined(perr)
			}
			terminate(ReasonFailedTransport, "")
			return nil, errTransfer("send data", err)
		}
		cctx, cancel := context.WithTimeout(ctx, closeWait)
		_ = c.CloseContext(cctx)
		cancel()
	}

	// The checksum follows the data; the receiver verifies and ends the
	// session. Its terminate may overtake our checksum (a receiver that had
	// nothing to check), which is fine.
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	sum := Checksum{XMLName: xmlName(NSFT, "checksum"), Creator: content.Creator, Name: content.Name,
		File: File{Hashes: []hashes.Hash{res.Hash}}}
	err = sess.send(cctx, Jingle{Action: ActSessionInfo, Payload: []any{sum}})
	cancel()
	if err != nil && sess.peerEnded() == nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A peer that does not understand the checksum may still confirm.
	}
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	for {
		sess.mu.Lock()
		received := sess.received
		sess.mu.Unlock()
		if received {
			terminate(ReasonSuccess, "")
			res.Verified = true
			return res, nil
		}
		select {
		case <-sess.ended:
			perr := sess.peerEnded()
			var te *TerminatedError
			if errors.As(perr, &te) && te.Reason.Condition == ReasonSuccess {
				res.Verified = true
				return res, nil
			}
			return nil, declined(perr)
		case <-sess.notify:
		case <-wctx.Done():
			if ctx.Err() == nil {
				terminate(ReasonTimeout, "no confirmation")
			}
			return nil, fmt.Errorf("wait for %s to confirm the file: %w", peer, wctx.Err())
		}
	}
}

// waitAction waits for the given action. Actions that arrive before it
// stay queued for later phases: IQ handlers run concurrently, so a peer's
// transport-info can overtake the session-accept it sent first.
func (s *Session) waitAction(ctx context.Context, action string) (*Jingle, error) {
	var skipped []*Jingle
	defer func() {
		if len(skipped) > 0 {
			s.mu.Lock()
			s.pending = append(skipped, s.pending...)
			s.mu.Unlock()
		}
	}()
	for {
		j, err := s.next(ctx)
		if err != nil {
			return nil, err
		}
		if j.Action == action {
			return j, nil
		}
		skipped = append(skipped, j)
	}
}

// replaceWithIBB is the initiator's fallback (XEP-0260 §3): transport-
// replace with IBB, wait for transport-accept, open the stream.
func (s *Session) replaceWithIBB(ctx context.Context, opts *Options) (io.ReadWriteCloser, error) {
	t := newIBBInitiator(s, newID(), opts)
	c := s.contentRef()
	c.Payload = []any{t.element()}
	rctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := s.send(rctx, Jingle{Action: ActTransportReplace, Contents: []Content{c}}); err != nil {
		return nil, err
	}
	for {
		j, err := s.next(rctx)
		if err != nil {
			return nil, err
		}
		switch j.Action {
		case ActTransportReject:
			return nil, fmt.Errorf("%s rejected the in-band fallback: %w", s.Peer, errNoCandidate)
		case ActTransportAccept:
			for _, ct := range j.Contents {
				if r, _ := transportOf(ct); r.ibb != nil {
					t.setRemote(r)
				}
			}
			stream, _, err := t.open(rctx)
			return stream, err
		}
	}
}
