package conn

import (
	"net"
	"syscall"
	"testing"
	"time"
)

func TestQuickAck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	tc := c.(*net.TCPConn)
	rc, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	opt := func(set int) (v int) {
		t.Helper()
		var serr error
		if err := rc.Control(func(fd uintptr) {
			if set >= 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, set)
				return
			}
			v, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
		}); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		return v
	}
	opt(0) // delayed ACKs, as after a few request/response turns
	if opt(-1) != 0 {
		t.Fatal("TCP_QUICKACK still on after setting it off")
	}
	quickAck(tc)()
	deadline := time.Now().Add(5 * time.Second)
	for opt(-1) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("quickAck left delayed ACKs on")
		}
		time.Sleep(ackIdle)
	}
	if quickAck(nil) != nil {
		t.Error("quickAck(nil) returned a function")
	}
}

func TestLoginSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial() // an older connection to the same port is not ours
	l := newLoginSocket(port)
	if fd := l.find(); fd != -1 {
		t.Fatalf("found fd %d before dialing", fd)
	}
	c := dial()
	fd := l.find()
	if fd < 0 {
		t.Fatal("new connection not found")
	}
	sa, err := syscall.Getsockname(fd)
	syscall.Close(fd)
	if err != nil || sa.(*syscall.SockaddrInet4).Port != c.LocalAddr().(*net.TCPAddr).Port {
		t.Errorf("found %v, want the socket of %v", sa, c.LocalAddr())
	}
	dial()
	if fd := l.find(); fd != -1 {
		syscall.Close(fd)
		t.Error("two new connections to the port: want none chosen")
	}

	l = newLoginSocket(port)
	dial()
	l.afterIO()
	if !l.found() {
		t.Error("afterIO did not take the new socket")
	}
	l.close()
	if l.found() {
		t.Error("still holding the socket after close")
	}
	if newLoginSocket(0) != nil {
		t.Error("a login socket for port 0")
	}
}

// TestTapAcks: the tap is what triggers the ACKs — after login on each
// read only, during login on the first I/O it finds the socket.
func TestTapAcks(t *testing.T) {
	reads := 0
	tp := newTap(nil)
	tp.endLogin(func() { reads++ })
	tp.Write([]byte("SEND <presence/>"))
	tp.Write([]byte("RECV <presence/>"))
	if reads != 1 {
		t.Errorf("afterRead ran %d times for one read and one write, want 1", reads)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tp = newTap(nil)
	tp.expectSocket(ln.Addr().(*net.TCPAddr).Port)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tp.Write([]byte("SEND <stream:stream>"))
	tp.endLogin(nil)
	if !tp.loginAck {
		t.Error("the first write of the login did not find its socket")
	}
}
