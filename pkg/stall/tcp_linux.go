//go:build linux

package stall

import (
	"net"

	"golang.org/x/sys/unix"
)

// TCPMoved returns a counter of the bytes the kernel has moved on c (sent
// and acknowledged plus received), or nil when c is not a TCP connection.
// It sees progress inside a long sendfile or splice call, which returns
// only after many megabytes.
func TCPMoved(c any) func() int64 {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() int64 {
		var v int64
		_ = rc.Control(func(fd uintptr) {
			if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				v = int64(info.Bytes_acked + info.Bytes_received)
			}
		})
		return v
	}
}
