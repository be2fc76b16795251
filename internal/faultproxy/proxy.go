// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server on loopback: it cuts a connection after N
// bytes in either direction, resets it, freezes it (stops forwarding both
// ways while keeping the sockets open, as a dead NAT or a blackholed route
// does) or delays it. The bytes pass through unchanged, so direct TLS and
// STARTTLS terminate at the server and certificates are still verified for
// the domain the client asked for.
//
// Faults are applied to a live connection (Conn.Apply) or armed for the
// next connection the proxy accepts (Proxy.ArmNext). Everything that
// happens is recorded as an Event; tests wait on events (Proxy.Wait), never
// on sleeps.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Dir is a direction of traffic.
type Dir int

// The two directions.
const (
	ToServer Dir = iota // client → server
	ToClient            // server → client
)

func (d Dir) String() string {
	if d == ToServer {
		return "to-server"
	}
	return "to-client"
}

// Action is what a fault does when its byte budget is spent.
type Action int

// The actions.
const (
	Cut    Action = iota + 1 // close both sockets (FIN)
	Reset                    // close both sockets with RST (SO_LINGER 0)
	Freeze                   // stop forwarding both ways; the sockets stay open
)

func (a Action) String() string {
	switch a {
	case Cut:
		return "cut"
	case Reset:
		return "reset"
	case Freeze:
		return "freeze"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Fault is one injected fault: Action after After more bytes have been
// forwarded in Dir (0: at once), or, with Delay set, a delay before every
// chunk forwarded in Dir.
type Fault struct {
	Action Action
	Dir    Dir
	After  int64
	Delay  time.Duration
	// When, if set, replaces After: it sees every chunk about to go in Dir,
	// in order, and returns how many of its bytes go before the action
	// fires, or -1 for none (e.g. a TLS record scanner that fires after a
	// record of a given size: see TLSRecordAtLeast).
	When func(chunk []byte) int
}

// CutAfter closes the connection once n more bytes went in dir.
func CutAfter(dir Dir, n int64) Fault { return Fault{Action: Cut, Dir: dir, After: n} }

// ResetAfter resets the connection once n more bytes went in dir.
func ResetAfter(dir Dir, n int64) Fault { return Fault{Action: Reset, Dir: dir, After: n} }

// FreezeAfter freezes the connection once n more bytes went in dir.
func FreezeAfter(dir Dir, n int64) Fault { return Fault{Action: Freeze, Dir: dir, After: n} }

// Delay holds every chunk going in dir for d.
func Delay(dir Dir, d time.Duration) Fault { return Fault{Dir: dir, Delay: d} }

// EventKind says what happened.
type EventKind int

// The event kinds.
const (
	Accepted EventKind = iota + 1 // a client connected and the server was dialled
	Fired                         // a fault's action took place (Event.Action)
	Closed                        // the connection ended (either side, or a fault)
)

func (k EventKind) String() string {
	switch k {
	case Accepted:
		return "accepted"
	case Fired:
		return "fired"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Event is one thing that happened on a connection.
type Event struct {
	Conn   int // 1 for the first connection accepted
	Kind   EventKind
	Action Action // for Fired
	Dir    Dir    // for Fired
	// Bytes forwarded so far in each direction (ToServer, ToClient).
	Bytes [2]int64
	At    time.Time
}

func (e Event) String() string {
	s := fmt.Sprintf("conn %d %s", e.Conn, e.Kind)
	if e.Kind == Fired {
		s += fmt.Sprintf(" %s %s", e.Action, e.Dir)
	}
	return s + fmt.Sprintf(" (%d↑ %d↓)", e.Bytes[ToServer], e.Bytes[ToClient])
}

// Proxy forwards connections from its loopback address to a target.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	events []Event
	notify chan struct{} // closed and replaced on every event
	conns  []*Conn
	armed  []Fault
	closed bool
	wg     sync.WaitGroup
}

// Start listens on a random loopback port and forwards to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, notify: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := append([]*Conn(nil), p.conns...)
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.close(false)
	}
	p.wg.Wait()
	return err
}

// ArmNext applies faults to the next connection accepted (replacing any
// armed before and not yet used).
func (p *Proxy) ArmNext(faults ...Fault) {
	p.mu.Lock()
	p.armed = append([]Fault(nil), faults...)
	p.mu.Unlock()
}

// Conn returns the n-th connection accepted (1-based), or nil.
func (p *Proxy) Conn(n int) *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < 1 || n > len(p.conns) {
		return nil
	}
	return p.conns[n-1]
}

// Count is the number of connections accepted so far.
func (p *Proxy) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Events returns a copy of everything recorded so far.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Wait returns the first event (oldest first, including past ones) that
// match accepts, waiting for it until ctx ends.
func (p *Proxy) Wait(ctx context.Context, match func(Event) bool) (Event, error) {
	seen := 0
	for {
		p.mu.Lock()
		evs := p.events[seen:]
		ch := p.notify
		p.mu.Unlock()
		for _, e := range evs {
			if match(e) {
				return e, nil
			}
		}
		seen += len(evs)
		select {
		case <-ch:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("faultproxy: no matching event (%d seen): %w", seen, ctx.Err())
		}
	}
}

// Is returns a matcher for Wait: the kind on connection n (0: any).
func Is(kind EventKind, n int) func(Event) bool {
	return func(e Event) bool { return e.Kind == kind && (n == 0 || e.Conn == n) }
}

func (p *Proxy) record(e Event) {
	e.At = time.Now()
	p.mu.Lock()
	p.events = append(p.events, e)
	close(p.notify)
	p.notify = make(chan struct{})
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			server.Close()
			return
		}
		c := newConn(p, len(p.conns)+1, client.(*net.TCPConn), server.(*net.TCPConn))
		p.conns = append(p.conns, c)
		armed := p.armed
		p.armed = nil
		p.mu.Unlock()
		for _, f := range armed {
			c.Apply(f)
		}
		p.record(Event{Conn: c.n, Kind: Accepted})
		p.wg.Add(2)
		go c.pump(ToServer, c.client, c.server)
		go c.pump(ToClient, c.server, c.client)
	}
}

// Conn is one proxied connection.
type Conn struct {
	p              *Proxy
	n              int
	client, server *net.TCPConn

	mu      sync.Mutex
	cond    *sync.Cond
	bytes   [2]int64
	pending [2][]Fault // byte-triggered faults per direction, budget counted from Apply
	base    [2][]int64 // bytes[dir] when each pending fault was applied
	delay   [2]time.Duration
	when    [2][]Fault // chunk-triggered faults per direction
	frozen  bool
	ended   bool
	done    chan struct{}
}

func newConn(p *Proxy, n int, client, server *net.TCPConn) *Conn {
	c := &Conn{p: p, n: n, client: client, server: server, done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// N is the connection's number (1 for the first accepted).
func (c *Conn) N() int { return c.n }

// Bytes is how much has been forwarded in dir so far.
func (c *Conn) Bytes(dir Dir) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes[dir]
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Apply injects a fault now: a delay takes effect for the next chunk, an
// action once After more bytes went in its direction (at once for 0).
func (c *Conn) Apply(f Fault) {
	c.mu.Lock()
	if f.Delay > 0 || f.Action == 0 {
		c.delay[f.Dir] = f.Delay
		c.mu.Unlock()
		return
	}
	if f.When != nil {
		c.when[f.Dir] = append(c.when[f.Dir], f)
		c.mu.Unlock()
		return
	}
	if f.After <= 0 {
		c.mu.Unlock()
		c.fire(f)
		return
	}
	c.pending[f.Dir] = append(c.pending[f.Dir], f)
	c.base[f.Dir] = append(c.base[f.Dir], c.bytes[f.Dir])
	c.mu.Unlock()
}

// budget returns how many bytes may go in dir before the earliest pending
// fault fires (-1: no limit) and that fault's index.
func (c *Conn) budget(dir Dir) (int64, int) {
	best, idx := int64(-1), -1
	for i, f := range c.pending[dir] {
		left := c.base[dir][i] + f.After - c.bytes[dir]
		if left < 0 {
			left = 0
		}
		if best < 0 || left < best {
			best, idx = left, i
		}
	}
	return best, idx
}

func (c *Conn) pump(dir Dir, src, dst *net.TCPConn) {
	defer c.p.wg.Done()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		data := buf[:n]
		for len(data) > 0 {
			c.mu.Lock()
			for c.frozen && !c.ended {
				c.cond.Wait()
			}
			if c.ended {
				c.mu.Unlock()
				return
			}
			chunk := data
			left, idx := c.budget(dir)
			var fire *Fault
			if idx >= 0 && left <= int64(len(chunk)) {
				chunk = chunk[:left]
				f := c.pending[dir][idx]
				fire = &f
				c.pending[dir] = append(c.pending[dir][:idx], c.pending[dir][idx+1:]...)
				c.base[dir] = append(c.base[dir][:idx], c.base[dir][idx+1:]...)
			}
			for i, f := range c.when[dir] {
				if fire != nil {
					break
				}
				if k := f.When(chunk); k >= 0 && k <= len(chunk) {
					chunk = chunk[:k]
					fire = &f
					c.when[dir] = append(c.when[dir][:i:i], c.when[dir][i+1:]...)
				}
			}
			delay := c.delay[dir]
			c.mu.Unlock()
			if delay > 0 && len(chunk) > 0 {
				select {
				case <-time.After(delay):
				case <-c.done:
					return
				}
			}
			if len(chunk) > 0 {
				// Counted before the write: whatever the other end has
				// read is already in Bytes (TestPassThrough read the echo
				// before the count had caught up).
				c.mu.Lock()
				c.bytes[dir] += int64(len(chunk))
				c.mu.Unlock()
				if _, werr := dst.Write(chunk); werr != nil {
					c.close(true)
					return
				}
			}
			data = data[len(chunk):]
			if fire != nil {
				c.fire(*fire)
				if fire.Action != Freeze {
					return
				}
			}
		}
		if err != nil {
			c.close(true)
			return
		}
	}
}

func (c *Conn) fire(f Fault) {
	switch f.Action {
	case Freeze:
		c.mu.Lock()
		c.frozen = true
		c.mu.Unlock()
		c.event(Fired, f)
	case Reset:
		_ = c.client.SetLinger(0)
		_ = c.server.SetLinger(0)
		c.event(Fired, f)
		c.close(true)
	case Cut:
		c.event(Fired, f)
		c.close(true)
	}
}

func (c *Conn) event(k EventKind, f Fault) {
	c.mu.Lock()
	b := c.bytes
	c.mu.Unlock()
	c.p.record(Event{Conn: c.n, Kind: k, Action: f.Action, Dir: f.Dir, Bytes: b})
}

// Close ends the connection (a frozen one too), as a cut does.
func (c *Conn) Close() { c.close(true) }

func (c *Conn) close(record bool) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.cond.Broadcast()
	close(c.done)
	c.mu.Unlock()
	c.client.Close()
	c.server.Close()
	if record {
		c.event(Closed, Fault{})
	}
}

// ErrNoConn is returned by WaitConn when the proxy closed first.
var ErrNoConn = errors.New("faultproxy: no such connection")

// WaitConn waits until the n-th connection was accepted and returns it.
func (p *Proxy) WaitConn(ctx context.Context, n int) (*Conn, error) {
	if _, err := p.Wait(ctx, Is(Accepted, n)); err != nil {
		return nil, err
	}
	if c := p.Conn(n); c != nil {
		return c, nil
	}
	return nil, ErrNoConn
}

// TLSRecordAtLeast returns a Fault.When that fires right after the first
// TLS record of at least size bytes of payload has gone through whole:
// with a message larger than everything else in a session, "just after the
// server got this stanza, before anything that follows". Bytes before the
// first TLS handshake record (STARTTLS's plaintext XML) are skipped.
func TLSRecordAtLeast(size int) func([]byte) int {
	var (
		started bool
		hdr     []byte // a partial record header
		left    int    // payload bytes of the current record still to come
		big     bool   // the current record is the one
	)
	return func(b []byte) int {
		for i := 0; i < len(b); {
			if !started {
				if b[i] != 0x16 { // a TLS handshake record starts TLS
					i++
					continue
				}
				started = true
			}
			if left > 0 {
				n := min(left, len(b)-i)
				left -= n
				i += n
				if left == 0 && big {
					return i
				}
				continue
			}
			hdr = append(hdr, b[i])
			i++
			if len(hdr) == 5 {
				left = int(hdr[3])<<8 | int(hdr[4])
				big = left >= size
				hdr = hdr[:0]
			}
		}
		return -1
	}
}
