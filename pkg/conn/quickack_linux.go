package conn

import (
	"net"
	"os"
	"strconv"
	"strings"
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
	return debouncedAck(rc.Control)
}

// debouncedAck pushes the ACK through control, which must fail harmlessly
// once the socket is closed.
func debouncedAck(control func(func(fd uintptr)) error) func() {
	set := func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1) }
	push := func() { _ = control(set) }
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

// loginSocket is the same remedy during login, when go-xmpp has the socket
// and no way to reach it: half of a one-message send (0.04 of 0.08 s) was
// login waiting on delayed ACKs. Before go-xmpp dials, it notes the
// sockets the process already has; at the first read of the stream it
// takes the one socket that is new and connected to the server's port, on
// a duplicate descriptor of its own. When that is not exactly one (another
// login to the same port at the same moment, a proxy), login just runs
// without it.
type loginSocket struct {
	port   int
	before map[uint64]bool

	mu       sync.Mutex
	resolved bool
	fd       int // our duplicate; -1 when none or closed
	ack      func()
}

func newLoginSocket(port int) *loginSocket {
	if port <= 0 {
		return nil
	}
	l := &loginSocket{port: port, before: map[uint64]bool{}, fd: -1}
	for inode := range socketFDs() {
		l.before[inode] = true
	}
	return l
}

// afterIO is called by the tap after each read or write during login.
func (l *loginSocket) afterIO() {
	if l == nil {
		return
	}
	l.mu.Lock()
	if !l.resolved {
		l.resolved = true
		l.fd = l.find()
		if l.fd >= 0 {
			l.ack = debouncedAck(l.control)
		}
	}
	ack := l.ack
	l.mu.Unlock()
	if ack != nil {
		ack()
	}
}

func (l *loginSocket) control(f func(fd uintptr)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return syscall.EBADF
	}
	f(uintptr(l.fd))
	return nil
}

// found reports whether the socket was found (and is not closed yet).
func (l *loginSocket) found() bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fd >= 0
}

func (l *loginSocket) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd >= 0 {
		_ = syscall.Close(l.fd)
		l.fd = -1
	}
}

// find returns a duplicate of the one new socket connected to l.port, or -1.
func (l *loginSocket) find() int {
	found := -1
	var inode uint64
	for ino, fd := range socketFDs() {
		if l.before[ino] || peerPort(fd) != l.port {
			continue
		}
		if found >= 0 {
			return -1 // ambiguous
		}
		found, inode = fd, ino
	}
	if found < 0 {
		return -1
	}
	// Close-on-exec from the start: a password command may be starting.
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(found), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1
	}
	dup := int(r)
	// The number may have been closed and reused since the scan.
	var st syscall.Stat_t
	if syscall.Fstat(dup, &st) != nil || st.Ino != inode {
		_ = syscall.Close(dup)
		return -1
	}
	return dup
}

// socketFDs maps the inode of each socket the process has open to one of
// its descriptors.
func socketFDs() map[uint64]int {
	out := map[uint64]int{}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return out
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 64)
		if err == nil {
			out[ino] = fd
		}
	}
	return out
}

// peerPort is the remote TCP port of fd, or -1.
func peerPort(fd int) int {
	if t, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || t != syscall.SOCK_STREAM {
		return -1
	}
	sa, err := syscall.Getpeername(fd)
	if err != nil {
		return -1
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return a.Port
	case *syscall.SockaddrInet6:
		return a.Port
	}
	return -1
}
