package conn

import (
	"crypto/tls"
	"net"

	xmpp "github.com/xmppo/go-xmpp"
)

// Prosody keeps Nagle's algorithm on by default (server_epoll's
// nagle = true): a small stanza it writes while its previous one is not yet
// acknowledged waits for our ACK, and a client that has nothing to answer
// delays that ACK by 40–200 ms. Every exchange in which the server sends two
// stanzas in a row (an IQ result, then the peer's next request) paid that:
// 0.12 s of a 0.17 s one-file Jingle transfer. Acknowledging at once after
// each read removes it. go-xmpp owns the socket and reads it itself, so the
// ACK is pushed from the debug tap, which sees every read, on the socket
// found in the client's unexported conn field; if a go-xmpp release renames
// or wraps that field, sockOf finds nothing and sessions are only slower.

// sockOf returns the TCP connection under c's stream, or nil.
func sockOf(c *xmpp.Client) *net.TCPConn {
	if c == nil {
		return nil
	}
	nc := streamOf(c)
	for range 4 { // TLS over a proxy tunnel is the deepest nesting go-xmpp makes
		switch x := nc.(type) {
		case *tls.Conn:
			nc = x.NetConn()
		case *net.TCPConn:
			return x
		default:
			return nil
		}
	}
	return nil
}

// streamOf returns the connection c reads its stream from and writes it
// to (its unexported conn field), or nil when that field is not there.
func streamOf(c *xmpp.Client) net.Conn {
	nc, _ := clientField[net.Conn](c, "conn")
	return nc
}

// clientField reads the unexported field name of go-xmpp's client, if it
// is there with type T (the contract tests fence each one used).
func clientField[T any](c *xmpp.Client, name string) (T, bool) {
	var zero T
	if c == nil {
		return zero, false
	}
	if f := fieldPtr[T](c, name); f != nil {
		return *f, true
	}
	return zero, false
}
