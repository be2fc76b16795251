package ibb

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/internal/registry"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Block sizes. XEP-0047 caps block-size at 65535; 4096 is what clients
// commonly use and what every server's stanza limit (Prosody's default is
// 256 KiB) accepts with room to spare once base64 has grown it by a third.
const (
	MaxBlockSize     = 65535
	DefaultBlockSize = 4096
)

// Open is <open/>.
type Open struct {
	XMLName   xml.Name `xml:"http://jabber.org/protocol/ibb open"`
	BlockSize int      `xml:"block-size,attr"`
	SID       string   `xml:"sid,attr"`
	Stanza    string   `xml:"stanza,attr,omitempty"`
}

// Data is <data/>, one base64 block.
type Data struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/ibb data"`
	Seq     uint16   `xml:"seq,attr"`
	SID     string   `xml:"sid,attr"`
	Payload string   `xml:",chardata"`
}

// Close is <close/>.
type Close struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/ibb close"`
	SID     string   `xml:"sid,attr"`
}

// Manager owns the IBB handlers of one session and routes incoming
// streams by peer and stream id. Only streams announced with Expect are
// accepted; every other <open/> is refused.
type Manager struct {
	s        conn.Session
	maxBlock int

	streams registry.Map[*Conn]
	expect  registry.Map[chan *Conn]
}

// NewManager registers the IBB handlers on s. Incoming streams may use
// blocks of up to maxBlock bytes (0 = DefaultBlockSize·4).
func NewManager(s conn.Session, maxBlock int) *Manager {
	if maxBlock <= 0 || maxBlock > MaxBlockSize {
		maxBlock = 4 * DefaultBlockSize
	}
	m := &Manager{s: s, maxBlock: maxBlock}
	s.HandleIQ(NS, "open", m.handleOpen)
	s.HandleIQ(NS, "data", m.handleData)
	s.HandleIQ(NS, "close", m.handleClose)
	return m
}

// MaxBlock is the largest block size accepted for incoming streams.
func (m *Manager) MaxBlock() int { return m.maxBlock }

// Expect announces that peer will open stream sid; Accept collects it.
func (m *Manager) Expect(peer, sid string) {
	m.expect.LoadOrStore(peer, sid, make(chan *Conn, 1))
}

// Accept waits for peer to open the stream sid (announcing it first if
// Expect was not called).
func (m *Manager) Accept(ctx context.Context, peer, sid string) (*Conn, error) {
	ch, _ := m.expect.LoadOrStore(peer, sid, make(chan *Conn, 1))
	defer m.expect.Delete(peer, sid)
	select {
	case c := <-ch:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for in-band bytestream from %s: %w", peer, ctx.Err())
	}
}

// Open opens an outgoing stream to peer.
func (m *Manager) Open(ctx context.Context, peer, sid string, blockSize int) (*Conn, error) {
	if blockSize <= 0 || blockSize > MaxBlockSize {
		return nil, fmt.Errorf("ibb: invalid block size %d", blockSize)
	}
	c := m.newConn(peer, sid, blockSize)
	if _, err := m.s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, To: peer, Payload: Open{BlockSize: blockSize, SID: sid, Stanza: "iq"}}); err != nil {
		m.remove(c)
		return nil, fmt.Errorf("open in-band bytestream: %w", err)
	}
	return c, nil
}

func (m *Manager) newConn(peer, sid string, blockSize int) *Conn {
	c := &Conn{m: m, peer: peer, sid: sid, blockSize: blockSize,
		blocks: make(chan []byte, 16), done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	m.streams.Set(peer, sid, c)
	return c
}

func (m *Manager) remove(c *Conn) {
	m.streams.Remove(c.peer, c.sid, c)
}

func (m *Manager) lookup(peer, sid string) *Conn {
	c, _ := m.streams.Get(peer, sid)
	return c
}

func errCond(typ stanza.ErrorType, cond stanza.Condition) error {
	return &stanza.Error{Type: typ, Condition: cond}
}

func (m *Manager) handleOpen(_ context.Context, iq *stanza.IQ) (any, error) {
	var o Open
	if err := iq.Query.Decode(&o); err != nil || o.SID == "" {
		return nil, errCond(stanza.Modify, stanza.BadRequest)
	}
	if o.Stanza != "" && o.Stanza != "iq" {
		return nil, errCond(stanza.Cancel, stanza.FeatureNotImplemented)
	}
	if o.BlockSize <= 0 || o.BlockSize > m.maxBlock {
		return nil, errCond(stanza.Modify, stanza.ResourceConstraint)
	}
	ch, ok := m.expect.Get(iq.From, o.SID)
	_, dup := m.streams.Get(iq.From, o.SID)
	if !ok || dup {
		return nil, errCond(stanza.Cancel, stanza.NotAcceptable)
	}
	c := m.newConn(iq.From, o.SID, o.BlockSize)
	select {
	case ch <- c:
	default:
		m.remove(c)
		return nil, errCond(stanza.Cancel, stanza.NotAcceptable)
	}
	return nil, nil
}

// reorderWait bounds how long a data block that arrived ahead of its turn
// (IQ handlers run concurrently) waits for the blocks before it.
const reorderWait = 10 * time.Second

// window is how far ahead of the expected sequence number a block may be.
const window = 64

func (m *Manager) handleData(ctx context.Context, iq *stanza.IQ) (any, error) {
	d, err := parseData(iq.Query)
	if err != nil {
		return nil, errCond(stanza.Modify, stanza.BadRequest)
	}
	c := m.lookup(iq.From, d.SID)
	if c == nil {
		return nil, errCond(stanza.Cancel, stanza.ItemNotFound)
	}
	payload := d.Payload
	if strings.ContainsAny(payload, " \t\r\n") {
		// XEP-0047 forbids whitespace in the base64; tolerate it anyway.
		payload = strings.Join(strings.Fields(payload), "")
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || len(b) > c.blockSize {
		c.fail(fmt.Errorf("ibb: bad data block %d from peer", d.Seq))
		return nil, errCond(stanza.Modify, stanza.BadRequest)
	}
	if err := c.deliver(ctx, d.Seq, b); err != nil {
		return nil, err
	}
	return nil, nil
}

func (m *Manager) handleClose(_ context.Context, iq *stanza.IQ) (any, error) {
	var cl Close
	if err := iq.Query.Decode(&cl); err != nil {
		return nil, errCond(stanza.Modify, stanza.BadRequest)
	}
	c := m.lookup(iq.From, cl.SID)
	if c == nil {
		return nil, errCond(stanza.Cancel, stanza.ItemNotFound)
	}
	c.remoteClose()
	return nil, nil
}

// Conn is one in-band bytestream. Reads return what the peer sent, in
// sequence order; writes send blocks and wait for each acknowledgement.
type Conn struct {
	m         *Manager
	peer, sid string
	blockSize int

	mu      sync.Mutex
	cond    *sync.Cond
	next    uint16 // next expected incoming seq
	eof     bool   // the peer closed
	err     error  // a protocol failure
	blocks  chan []byte
	pending []byte // rest of a block not yet read
	done    chan struct{}
	once    sync.Once

	wseq     uint16
	wclosed  bool
	inflight []inflight
}

// BlockSize is the negotiated block size.
func (c *Conn) BlockSize() int { return c.blockSize }

func (c *Conn) deliver(ctx context.Context, seq uint16, b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(reorderWait)
	for seq != c.next && c.err == nil && !c.eof {
		ahead := seq - c.next // modulo 65536
		if ahead > window || time.Now().After(deadline) {
			c.failLocked(fmt.Errorf("ibb: block %d out of sequence (want %d)", seq, c.next))
			return errCond(stanza.Cancel, stanza.UnexpectedRequest)
		}
		c.waitLocked(100 * time.Millisecond)
	}
	if c.err != nil || c.eof {
		return errCond(stanza.Cancel, stanza.ItemNotFound)
	}
	select {
	case c.blocks <- b:
	case <-c.done:
		return errCond(stanza.Cancel, stanza.ItemNotFound)
	case <-ctx.Done():
		return errCond(stanza.Wait, stanza.ResourceConstraint)
	}
	c.next++
	c.cond.Broadcast()
	return nil
}

// waitLocked waits on the condition for at most d.
func (c *Conn) waitLocked(d time.Duration) {
	t := time.AfterFunc(d, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	c.cond.Wait()
	t.Stop()
}

// Abort ends the stream here with err, without telling the peer: blocked
// and later reads return err. It interrupts a transfer that stalled.
func (c *Conn) Abort(err error) { c.fail(err) }

// failure is the error the stream failed with, if any.
func (c *Conn) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	c.failLocked(err)
	c.mu.Unlock()
}

func (c *Conn) failLocked(err error) {
	if c.err == nil {
		c.err = err
	}
	c.cond.Broadcast()
	c.once.Do(func() { close(c.done) })
}

func (c *Conn) remoteClose() {
	c.mu.Lock()
	c.eof = true
	c.cond.Broadcast()
	c.mu.Unlock()
	c.once.Do(func() { close(c.done) })
}

// Read reads data the peer sent.
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		select {
		case b := <-c.blocks:
			c.pending = b
		case <-c.done:
			// Blocks delivered before the close are still queued.
			select {
			case b := <-c.blocks:
				c.pending = b
			default:
				c.mu.Lock()
				err := c.err
				c.mu.Unlock()
				if err != nil {
					return 0, err
				}
				return 0, io.EOF
			}
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// sendWindow is how many data blocks may await their acknowledgement
// when the session can pipeline IQs (conn.AsyncIQSender): one round trip
// per block would cap throughput at block size / RTT.
const sendWindow = 8

type inflight struct {
	seq uint16
	ch  <-chan *stanza.IQ
}

// WriteContext sends p in blocks. With a pipelining session up to
// sendWindow blocks are in flight, so a failure may be reported by a later
// write or by CloseContext; otherwise each block is acknowledged before
// the next.
func (c *Conn) WriteContext(ctx context.Context, p []byte) (int, error) {
	as, pipelined := c.m.s.(conn.AsyncIQSender)
	n := 0
	for len(p) > 0 {
		k := min(len(p), c.blockSize)
		iq := stanza.IQ{Type: stanza.SetIQ, To: c.peer,
			Payload: Data{Seq: c.wseq, SID: c.sid, Payload: base64.StdEncoding.EncodeToString(p[:k])}}
		if !pipelined {
			if _, err := c.m.s.SendIQ(ctx, iq); err != nil {
				return n, fmt.Errorf("send in-band block %d: %w", c.wseq, err)
			}
		} else {
			for len(c.inflight) >= sendWindow {
				if err := c.reap(ctx, true); err != nil {
					return n, err
				}
			}
			ch, err := as.SendIQAsync(ctx, iq)
			if err != nil {
				return n, fmt.Errorf("send in-band block %d: %w", c.wseq, err)
			}
			c.inflight = append(c.inflight, inflight{c.wseq, ch})
			if err := c.reap(ctx, false); err != nil {
				return n, err
			}
		}
		c.wseq++
		n += k
		p = p[k:]
	}
	return n, nil
}

// reap collects acknowledgements of blocks in flight, oldest first; with
// wait it waits for at least the oldest.
func (c *Conn) reap(ctx context.Context, wait bool) error {
	for len(c.inflight) > 0 {
		f := c.inflight[0]
		var resp *stanza.IQ
		var ok bool
		if wait {
			var err error
			if resp, ok, err = c.await(ctx, f.ch); err != nil {
				return err
			}
			wait = false
		} else {
			select {
			case resp, ok = <-f.ch:
			default:
				return nil
			}
		}
		c.inflight = c.inflight[1:]
		if !ok {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fmt.Errorf("send in-band block %d: %w", f.seq, conn.ErrClosed)
		}
		if resp.Type == stanza.ErrorIQ {
			return fmt.Errorf("send in-band block %d: %w", f.seq, resp.Error)
		}
	}
	return nil
}

// await waits for the answer on ch. A failed or aborted stream stops
// waiting; a closing one (CloseContext flushes) still collects answers.
func (c *Conn) await(ctx context.Context, ch <-chan *stanza.IQ) (*stanza.IQ, bool, error) {
	done := c.done
	for {
		select {
		case resp, ok := <-ch:
			return resp, ok, nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-done:
			if err := c.failure(); err != nil {
				return nil, false, err
			}
			done = nil
		}
	}
}

// Flush waits until every block in flight was acknowledged: the peer has
// then received everything written.
func (c *Conn) Flush(ctx context.Context) error { return c.flush(ctx) }

// flush waits until every block in flight was acknowledged.
func (c *Conn) flush(ctx context.Context) error {
	for len(c.inflight) > 0 {
		if err := c.reap(ctx, true); err != nil {
			return err
		}
	}
	return nil
}

// Write sends p (see WriteContext); it is bounded by the session only.
func (c *Conn) Write(p []byte) (int, error) { return c.WriteContext(context.Background(), p) }

// CloseContext closes the stream, telling the peer when we opened or
// still use it.
func (c *Conn) CloseContext(ctx context.Context) error {
	c.m.remove(c)
	c.mu.Lock()
	eof := c.eof
	already := c.wclosed
	c.wclosed = true
	c.mu.Unlock()
	c.once.Do(func() { close(c.done) })
	if eof || already {
		return nil
	}
	if err := c.flush(ctx); err != nil {
		return err
	}
	_, err := c.m.s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, To: c.peer, Payload: Close{SID: c.sid}})
	var se *stanza.Error
	if errors.As(err, &se) {
		return nil // the peer had already forgotten the stream
	}
	return err
}

// WaitClosed waits until the peer closed the stream (true) or ctx ended.
// A receiver that has all the data waits for the sender's close this way
// instead of racing it with a close of its own.
func (c *Conn) WaitClosed(ctx context.Context) bool {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.eof
	case <-ctx.Done():
		return false
	}
}

// Forget drops the stream without telling the peer.
func (c *Conn) Forget() {
	c.m.remove(c)
	c.mu.Lock()
	c.wclosed = true
	c.mu.Unlock()
	c.once.Do(func() { close(c.done) })
}

// Close closes the stream with a bounded wait for the peer's answer.
func (c *Conn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.CloseContext(ctx)
}

// parseData reads a <data/> element. The payload is plain base64, so the
// raw inner bytes are used as they are, saving the two XML passes of a
// full decode per block; anything with markup or entities takes the full
// decode.
func parseData(el stanza.Element) (Data, error) {
	if bytes.ContainsAny(el.Inner, "<&") {
		var d Data
		err := el.Decode(&d)
		return d, err
	}
	seq, err := strconv.ParseUint(el.Attr("seq"), 10, 16)
	if err != nil {
		return Data{}, fmt.Errorf("ibb: bad seq %q", el.Attr("seq"))
	}
	return Data{Seq: uint16(seq), SID: el.Attr("sid"), Payload: string(el.Inner)}, nil
}
