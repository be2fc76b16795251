package conn

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// ackIdle is how long after a read, with no further read, the pending ACK
// is pushed. While data keeps arriving the kernel acknowledges every
// second segment anyway; an ACK per read there only costs both ends work
// (archive sync took 15 % more CPU with one).
const ackIdle = 2 * time.Millisecond

// quickAck returns a function to call after every read: once reads stop
// for ackIdle, it sends the delayed ACK on c at once (TCP_QUICKACK; the
// kernel goes back to delaying later, hence once per pause). Nil when c is
// nil.
func quickAck(c *net.TCPConn) func() {
	if c == nil {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	set := func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1) }
	push := func() { _ = rc.Control(set) } // fails harmlessly once c is closed
	var mu sync.Mutex
	var t *time.Timer
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if t == nil {
			t = time.AfterFunc(ackIdle, push)
			return
		}
		t.Reset(ackIdle)
	}
}
