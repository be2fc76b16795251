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
