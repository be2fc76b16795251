//go:build !unix

package jingle

import (
	"io"
	"net"
)

// socketReader returns the receiver's read of conn. Elsewhere than on Unix
// it is a plain read of what has arrived (at least one byte), io.EOF at
// the end: blocks may be shorter, which costs CPU, not correctness.
func socketReader(conn *net.TCPConn) (func([]byte) (int, error), error) {
	return func(b []byte) (int, error) { return io.ReadAtLeast(conn, b, 1) }, nil
}
