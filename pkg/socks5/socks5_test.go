package socks5

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestDstAddr(t *testing.T) {
	// sha1("vxf9n471bn46" + "romeo@montague.lit/orchard" + "juliet@capulet.lit/balcony"),
	// computed independently with sha1sum.
	got := DstAddr("vxf9n471bn46", "romeo@montague.lit/orchard", "juliet@capulet.lit/balcony")
	want := "01494a7e04f11decb0c82b29d36d172e55ebe7a9"
	if got != want {
		t.Errorf("DstAddr = %s, want %s", got, want)
	}
	if DstAddr("s", "a", "b") == DstAddr("s", "b", "a") {
		t.Error("DstAddr must depend on the order of requester and target")
	}
}

func TestHandshake(t *testing.T) {
	dst := DstAddr("sid", "a@x/1", "b@x/2")
	tests := []struct {
		name    string
		accept  bool
		wantErr bool
	}{
		{"accepted", true, false},
		{"refused", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := net.Pipe()
			defer c.Close()
			defer s.Close()
			got := make(chan string, 1)
			go func() {
				d, err := ServerHandshake(s)
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				got <- d
				if tt.accept {
					_ = Accept(s, d)
				} else {
					_ = Refuse(s)
				}
			}()
			err := ClientHandshake(c, dst)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ClientHandshake error = %v, wantErr %v", err, tt.wantErr)
			}
			if g := <-got; g != dst {
				t.Errorf("server read DST.ADDR %q, want %q", g, dst)
			}
		})
	}
}

func TestServerHandshakeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"socks4", []byte{4, 1, 0, 80, 127, 0, 0, 1, 0}},
		{"no methods", []byte{5, 0}},
		{"auth only", []byte{5, 1, 2}},
		{"bind command", append([]byte{5, 1, 0, 5, 2, 0, 3, 1, 'x'}, 0, 0)},
		{"ipv4 address", []byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80}},
		{"truncated", []byte{5, 1, 0, 5, 1, 0, 3, 40, 'a'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw := &rwBuf{r: bytes.NewReader(tt.in)}
			if _, err := ServerHandshake(rw); err == nil {
				t.Error("ServerHandshake accepted malformed input")
			}
		})
	}
}

type rwBuf struct {
	r io.Reader
	w bytes.Buffer
}

func (b *rwBuf) Read(p []byte) (int, error)  { return b.r.Read(p) }
func (b *rwBuf) Write(p []byte) (int, error) { return b.w.Write(p) }

func TestReadReply(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Reply
		wantErr bool
	}{
		{"domain", []byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 0}, Reply{Code: 0, Atyp: 3, Addr: "abc"}, false},
		{"ipv4", []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}, Reply{Atyp: 1, Addr: "127.0.0.1", Port: 8080}, false},
		{"ipv6", append(append([]byte{5, 1, 0, 4}, net.IPv6loopback...), 0, 1), Reply{Code: 1, Atyp: 4, Addr: "::1", Port: 1}, false},
		{"bad version", []byte{4, 0, 0, 1, 0, 0, 0, 0, 0, 0}, Reply{}, true},
		{"bad atyp", []byte{5, 0, 0, 9, 0, 0}, Reply{}, true},
		{"short", []byte{5, 0, 0, 3, 10, 'a'}, Reply{}, true},
		{"empty", nil, Reply{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadReply(bytes.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 0})
	f.Add([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90})
	f.Add(append(append([]byte{5, 1, 0, 4}, net.IPv6loopback...), 0, 1))
	f.Add([]byte{5, 0, 0, 3, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ReadReply(bytes.NewReader(b))
		if err != nil {
			return
		}
		if rep.Atyp == atypDomain {
			// A domain reply round-trips through the encoder.
			var buf bytes.Buffer
			if len(rep.Addr) > 0 {
				if err := reply(&buf, rep.Code, rep.Addr); err != nil {
					t.Fatal(err)
				}
				again, err := ReadReply(&buf)
				if err != nil || again.Addr != rep.Addr || again.Code != rep.Code {
					t.Fatalf("round trip: %+v → %+v, %v", rep, again, err)
				}
			}
		}
	})
}

func FuzzServerHandshake(f *testing.F) {
	req, _ := Request(DstAddr("s", "a", "b"))
	f.Add(append([]byte{5, 1, 0}, req...))
	f.Add([]byte{5, 2, 2, 0, 5, 1, 0, 3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ServerHandshake(&rwBuf{r: bytes.NewReader(b)})
	})
}

func TestListenerDial(t *testing.T) {
	l, err := Listen("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dst := DstAddr("sid1", "req@x/r", "tgt@x/t")
	ch := l.Expect(dst)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// A stranger's hash is refused.
	if c, err := Dial(ctx, l.Host, l.Port, DstAddr("other", "a", "b")); err == nil {
		c.Close()
		t.Fatal("Dial with an unexpected DST.ADDR succeeded")
	}
	c, err := Dial(ctx, l.Host, l.Port, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var srv net.Conn
	select {
	case srv = <-ch:
	case <-ctx.Done():
		t.Fatal("no connection delivered")
	}
	defer srv.Close()
	msg := []byte("hello through socks5")
	go func() { _, _ = c.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(srv, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %q, %v; want %q", got, err, msg)
	}
}

func TestDialContextCancel(t *testing.T) {
	// A listener that never answers the greeting: Dial must return when
	// the context ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	release := make(chan struct{})
	defer close(release)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			<-release // silent until the test is over
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	addr := ln.Addr().(*net.TCPAddr)
	_, err = Dial(ctx, "127.0.0.1", addr.Port, "x")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error = %v, want deadline exceeded", err)
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/bytestreams' sid='s' mode='tcp'><streamhost jid='a@b/c' host='127.0.0.1' port='5086'/></query>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/bytestreams' sid='s'><streamhost-used jid='proxy.example.org'/></query>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/bytestreams'><streamhost jid='p' host='h' port='99999'/></query>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var el stanza.Element
		if xml.Unmarshal(b, &el) != nil {
			return
		}
		q, err := ParseQuery(el)
		if err != nil {
			return
		}
		for _, h := range q.StreamHosts {
			if h.Port < 0 || h.Port > 65535 {
				t.Fatalf("port %d accepted", h.Port)
			}
		}
	})
}
