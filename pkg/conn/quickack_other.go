//go:build !linux

package conn

import "net"

// quickAck has no portable equivalent of TCP_QUICKACK.
func quickAck(*net.TCPConn) func() { return nil }

type loginSocket struct{}

func newLoginSocket(int) *loginSocket { return nil }
func (*loginSocket) afterIO()         {}
func (*loginSocket) close()           {}
func (*loginSocket) found() bool      { return false }
