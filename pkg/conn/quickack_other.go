//go:build !linux

package conn

import "net"

// quickAck has no portable equivalent of TCP_QUICKACK.
func quickAck(*net.TCPConn) func() { return nil }
