package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// echoServer answers every byte with itself.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *Proxy {
	t.Helper()
	p, err := Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPassThrough(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	msg := bytes.Repeat([]byte("xmpp"), 50000)
	go func() { _, _ = c.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("echo differs")
	}
	pc, err := p.WaitConn(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Bytes(ToServer) != int64(len(msg)) || pc.Bytes(ToClient) != int64(len(msg)) {
		t.Errorf("bytes %d/%d, want %d each", pc.Bytes(ToServer), pc.Bytes(ToClient), len(msg))
	}
}

func TestCutAfterBytes(t *testing.T) {
	for _, dir := range []Dir{ToServer, ToClient} {
		t.Run(dir.String(), func(t *testing.T) {
			p := start(t)
			p.ArmNext(CutAfter(dir, 10))
			c := dial(t, p)
			if _, err := c.Write([]byte("0123456789abcdefghij")); err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(c) // ends at the cut
			// Towards the client exactly the 10 bytes before the cut arrive;
			// towards the server the echo of them may or may not beat the cut.
			if dir == ToClient && string(got) != "0123456789" || !bytes.HasPrefix([]byte("0123456789"), got) {
				t.Errorf("client got %q, want the bytes before the cut", got)
			}
			e, err := p.Wait(ctx(t), Is(Fired, 1))
			if err != nil {
				t.Fatal(err)
			}
			if e.Action != Cut || e.Dir != dir || e.Bytes[dir] != 10 {
				t.Errorf("event %v", e)
			}
			if _, err := p.Wait(ctx(t), Is(Closed, 1)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestArmNextOnlyOnce(t *testing.T) {
	p := start(t)
	p.ArmNext(CutAfter(ToServer, 1))
	c1 := dial(t, p)
	_, _ = c1.Write([]byte("ab"))
	if _, err := p.Wait(ctx(t), Is(Closed, 1)); err != nil {
		t.Fatal(err)
	}
	c2 := dial(t, p)
	if _, err := c2.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c2, got); err != nil || string(got) != "hello" {
		t.Fatalf("second connection got %q, %v", got, err)
	}
}

func TestReset(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	pc, err := p.WaitConn(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	pc.Apply(Fault{Action: Reset, Dir: ToClient})
	_, err = io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after reset: %v, want ECONNRESET", err)
	}
}

func TestFreezeStopsBothWaysKeepsSocket(t *testing.T) {
	p := start(t)
	p.ArmNext(FreezeAfter(ToClient, 3))
	c := dial(t, p)
	if _, err := c.Write([]byte("abcdef")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "abc" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := p.Wait(ctx(t), Is(Fired, 1)); err != nil {
		t.Fatal(err)
	}
	// Writes still succeed (the socket is open) but nothing comes back.
	if _, err := c.Write([]byte("more")); err != nil {
		t.Fatalf("write to a frozen connection: %v", err)
	}
	pc := p.Conn(1)
	up := pc.Bytes(ToServer)
	pc.Close() // the test ends the freeze
	rest, _ := io.ReadAll(c)
	if len(rest) != 0 {
		t.Errorf("a frozen connection delivered %q", rest)
	}
	if pc.Bytes(ToServer) != up {
		t.Errorf("forwarded %d bytes to the server while frozen", pc.Bytes(ToServer)-up)
	}
}

func TestDelay(t *testing.T) {
	p := start(t)
	p.ArmNext(Delay(ToServer, 50*time.Millisecond))
	c := dial(t, p)
	begin := time.Now()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: the chunk cannot have arrived before its delay.
	if d := time.Since(begin); d < 50*time.Millisecond {
		t.Errorf("arrived after %v, before the 50ms delay", d)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	p := start(t)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Wait(c, Is(Accepted, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	p, err := Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	if _, err := p.WaitConn(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	p.Conn(1).Apply(FreezeAfter(ToServer, 0))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after Close: %v", err)
	}
}

func TestTLSRecordAtLeast(t *testing.T) {
	rec := func(n int) []byte { return append([]byte{0x17, 3, 3, byte(n >> 8), byte(n)}, make([]byte, n)...) }
	stream := append([]byte("<starttls/>"), 0x16, 3, 1, 0, 2, 0, 0) // plaintext, then a handshake record
	stream = append(stream, rec(10)...)
	stream = append(stream, rec(300)...)
	want := len(stream)
	stream = append(stream, rec(300)...)
	for _, chunk := range []int{1, 3, 7, 1000} {
		w := TLSRecordAtLeast(300)
		got, off := -1, 0
		for off < len(stream) && got < 0 {
			end := min(off+chunk, len(stream))
			if k := w(stream[off:end]); k >= 0 {
				got = off + k
			}
			off = end
		}
		if got != want {
			t.Errorf("chunks of %d: fires after %d bytes, want %d", chunk, got, want)
		}
	}
}

func TestWhenCutsMidChunk(t *testing.T) {
	p := start(t)
	p.ArmNext(Fault{Action: Cut, Dir: ToServer, When: func(b []byte) int {
		if i := bytes.IndexByte(b, '|'); i >= 0 {
			return i + 1
		}
		return -1
	}})
	c := dial(t, p)
	if _, err := c.Write([]byte("abc|def")); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	if !bytes.HasPrefix([]byte("abc|"), got) {
		t.Errorf("got %q, want at most the bytes up to the cut", got)
	}
	e, err := p.Wait(ctx(t), Is(Fired, 1))
	if err != nil || e.Bytes[ToServer] != 4 {
		t.Errorf("event %v %v, want the cut after 4 bytes", e, err)
	}
}
