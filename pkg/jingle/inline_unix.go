//go:build unix

package jingle

import (
	"io"
	"net"
	"syscall"
)

// socketReader returns the receiver's read of conn: readAvailable.
func socketReader(conn *net.TCPConn) (func([]byte) (int, error), error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	return func(b []byte) (int, error) { return readAvailable(rc, b) }, nil
}

// readAvailable reads what the socket holds, up to len(b), waiting only
// while it holds nothing: whole blocks from a fast peer (a read of what
// arrived so far would often return a few KiB, each then hashed and
// written on its own), and no wait for a block to fill while a slow or
// stalled peer's bytes sit in the buffer unwritten. io.EOF when the peer
// closed and nothing was read.
func readAvailable(rc syscall.RawConn, b []byte) (n int, err error) {
	rerr := rc.Read(func(fd uintptr) bool {
		for n < len(b) {
			k, e := syscall.Read(int(fd), b[n:])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return n > 0
			case e != nil:
				err = e
				return true
			case k == 0:
				if n == 0 {
					err = io.EOF
				}
				return true
			}
			n += k
		}
		return true
	})
	if err == nil && rerr != nil {
		err = rerr
	}
	return n, err
}
