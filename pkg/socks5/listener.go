package socks5

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// Listener is a streamhost: a TCP listener on one local address that
// accepts SOCKS5 connections and hands each one to whoever expects its
// DST.ADDR. Connections for unknown hashes are refused.
type Listener struct {
	ln   net.Listener
	Host string // the address as offered to peers
	Port int

	mu     sync.Mutex
	want   map[string]chan net.Conn
	closed bool
	wg     sync.WaitGroup
}

// HandshakeTimeout bounds a peer's SOCKS5 handshake on a Listener.
const HandshakeTimeout = 10 * time.Second

// Listen opens a streamhost on ip (any free port).
func Listen(ip string) (*Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	l := &Listener{ln: ln, Host: ip, Port: p, want: map[string]chan net.Conn{}}
	l.wg.Add(1)
	go l.loop()
	return l, nil
}

// Expect registers dst and returns the channel on which the first
// connection that asks for it is delivered, handshake done.
func (l *Listener) Expect(dst string) <-chan net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.want[dst]
	if !ok {
		ch = make(chan net.Conn, 1)
		l.want[dst] = ch
	}
	return ch
}

// Wait returns the connection for dst, waiting until ctx ends.
func (l *Listener) Wait(ctx context.Context, dst string) (net.Conn, error) {
	select {
	case c := <-l.Expect(dst):
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops listening. Connections already delivered stay open; ones
// delivered but never collected are closed.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	l.mu.Lock()
	for dst, ch := range l.want {
		select {
		case c := <-ch:
			if c != nil {
				c.Close()
			}
		default:
		}
		delete(l.want, dst)
	}
	l.mu.Unlock()
	return err
}

func (l *Listener) loop() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.serve(c)
		}()
	}
}

func (l *Listener) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(HandshakeTimeout))
	dst, err := ServerHandshake(c)
	if err != nil {
		c.Close()
		return
	}
	l.mu.Lock()
	ch, ok := l.want[dst]
	closed := l.closed
	l.mu.Unlock()
	if !ok || closed {
		_ = Refuse(c)
		c.Close()
		return
	}
	if err := Accept(c, dst); err != nil {
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	select {
	case ch <- c:
	default:
		c.Close() // a connection for dst was delivered already
	}
}
