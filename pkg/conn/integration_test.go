package conn_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var srv *testserver.Server

func TestMain(m *testing.M) { testserver.Main(m, &srv) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestDialBothTLSModesAndRememberMechanism(t *testing.T) {
	testserver.Require(t, srv)
	for _, tc := range []struct {
		mode, addr string
	}{{"starttls", srv.Addr()}, {"direct", srv.TLSAddr()}} {
		t.Run(tc.mode, func(t *testing.T) {
			o := srv.Options(t, "alice")
			o.Server, o.TLSMode = tc.addr, tc.mode
			for i := 0; i < 2; i++ {
				s, err := conn.Dial(ctx(t), o)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(s.JID(), "alice@"+srv.Domain+"/") {
					t.Errorf("bound JID %q", s.JID())
				}
				// Without it every ACK is delayed again (quickack.go).
				if sock := conn.SocketOf(s); sock == nil || sock.RemoteAddr().String() != tc.addr {
					t.Errorf("socket under go-xmpp's client: %v, want one connected to %s", sock, tc.addr)
				}
				if runtime.GOOS == "linux" && !conn.LoginSocketFound(s) {
					t.Error("login did not find its socket (login waits on delayed ACKs again)")
				}
				if err := s.Flush(ctx(t)); err != nil {
					t.Fatal(err)
				}
				s.Close()
				if err := s.Err(); err != nil {
					t.Errorf("clean close reported %v", err)
				}
			}
			b, err := os.ReadFile(filepath.Join(o.DataDir, "sasl-mechanisms.json"))
			if err != nil || !strings.Contains(string(b), tc.addr) {
				t.Errorf("mechanism not remembered: %s %v", b, err)
			}
		})
	}
}

func TestFlushWithStreamManagement(t *testing.T) {
	testserver.Require(t, srv)
	o := srv.Options(t, "alice")
	s, err := conn.Dial(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rb := srv.Dial(t, "bob")
	sub := rb.Subscribe()
	defer sub.Close()
	if err := rb.Flush(ctx(t)); err != nil {
		t.Fatal(err)
	}
	acks, ok := s.(conn.Acks)
	if !ok {
		t.Fatal("session does not implement conn.Acks")
	}
	var last uint64
	for i := 0; i < 20; i++ {
		seq, err := acks.SendSeq(ctx(t), stanza.Message{To: srv.JID("bob"), Type: stanza.ChatMessage, Body: "sm"})
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	if err := s.Flush(ctx(t)); err != nil {
		t.Fatalf("flush with SM: %v", err)
	}
	if n, on := acks.Acked(); !on || n < last {
		t.Errorf("after Flush: acked %d (stream management %v), want ≥ %d", n, on, last)
	}
	n := 0
	for n < 20 {
		st, err := sub.Next(ctx(t))
		if err != nil {
			t.Fatalf("bob got %d of 20: %v", n, err)
		}
		if m, ok := st.(*stanza.Message); ok && m.Body == "sm" {
			n++
		}
	}
}

type probe struct {
	XMLName xml.Name `xml:"urn:example:probe q"`
	V       string   `xml:"v,attr,omitempty"`
}

func TestIncomingIQs(t *testing.T) {
	testserver.Require(t, srv)
	a, b := srv.Dial(t, "alice"), srv.Dial(t, "bob")
	// No handler: service-unavailable, not silence.
	_, err := b.SendIQ(ctx(t), stanza.IQ{Type: "get", To: a.JID(), Payload: probe{}})
	var se *stanza.Error
	if !errors.As(err, &se) || se.Condition != "service-unavailable" {
		t.Fatalf("unhandled IQ: got %v", err)
	}
	a.HandleIQ("urn:example:probe", "q", func(_ context.Context, iq *stanza.IQ) (any, error) {
		return probe{V: "pong:" + iq.Query.Attr("v")}, nil
	})
	resp, err := b.SendIQ(ctx(t), stanza.IQ{Type: "get", To: a.JID(), Payload: probe{V: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Query.Attr("v"); got != "pong:1" {
		t.Errorf("handler answer %q", got)
	}
	a.HandleIQ("urn:example:probe", "q", func(context.Context, *stanza.IQ) (any, error) {
		return nil, &stanza.Error{Type: "modify", Condition: "bad-request"}
	})
	if _, err := b.SendIQ(ctx(t), stanza.IQ{Type: "set", To: a.JID(), Payload: probe{}}); !errors.As(err, &se) || se.Condition != "bad-request" {
		t.Errorf("handler error: got %v", err)
	}
}

// TestDroppedConnection cuts the TCP connection under a live session.
func TestDroppedConnection(t *testing.T) {
	testserver.Require(t, srv)
	proxy := newCutProxy(t, srv.Addr())
	o := srv.Options(t, "alice")
	o.Server = proxy.addr
	s, err := conn.Dial(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	proxy.cut()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session did not notice the dropped connection")
	}
	var ce *conn.ConnectError
	if !errors.As(s.Err(), &ce) {
		t.Errorf("Err() = %v, want *conn.ConnectError", s.Err())
	}
	if err := s.Flush(ctx(t)); !errors.As(err, &ce) {
		t.Errorf("Flush after drop = %v, want *conn.ConnectError", err)
	}
}

type cutProxy struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &cutProxy{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestFirstSubscriberGetsEarlyStanzas: messages that arrive right after
// login (offline storage is flushed then) reach the first subscriber.
func TestFirstSubscriberGetsEarlyStanzas(t *testing.T) {
	testserver.Require(t, srv)
	carol := srv.Dial(t, "carol")
	early, err := srv.FreshUser("early")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"one", "two"} {
		if err := carol.Send(ctx(t), stanza.Message{To: srv.JID(early), Type: stanza.ChatMessage, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if err := carol.Flush(ctx(t)); err != nil {
		t.Fatal(err)
	}
	s := srv.Dial(t, early)
	if err := s.Flush(ctx(t)); err != nil { // the offline flush has arrived
		t.Fatal(err)
	}
	sub := s.Subscribe()
	defer sub.Close()
	var got []string
	for len(got) < 2 {
		st, err := sub.Next(ctx(t))
		if err != nil {
			t.Fatalf("got %v: %v", got, err)
		}
		if m, ok := st.(*stanza.Message); ok && m.Body != "" {
			got = append(got, m.Body)
		}
	}
	if got[0] != "one" || got[1] != "two" {
		t.Errorf("got %v", got)
	}
}

// TestUnavailableSession: with Options.Unavailable the session withdraws
// go-xmpp's forced presence, so messages for the bare JID are not routed to
// it (they wait in offline storage for the user's real clients), while
// messages to its full JID (receipts, bounces) still arrive.
func TestUnavailableSession(t *testing.T) {
	testserver.Require(t, srv)
	quiet, err := srv.FreshUser("quiet")
	if err != nil {
		t.Fatal(err)
	}
	o := srv.Options(t, quiet)
	o.Unavailable = true
	q, err := conn.Dial(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	sub := q.Subscribe()
	defer sub.Close()
	if err := q.Flush(ctx(t)); err != nil {
		t.Fatal(err)
	}
	bob := srv.Dial(t, "bob")
	for _, m := range []stanza.Message{
		{To: srv.JID(quiet), Type: stanza.ChatMessage, Body: "for the bare JID"},
		{To: q.JID(), Type: stanza.ChatMessage, Body: "for the full JID"},
	} {
		if err := bob.Send(ctx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	// The server handles bob's stanzas in order: when the full-JID message
	// arrives, the bare-JID one would have arrived before it.
	for {
		st, err := sub.Next(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		m, ok := st.(*stanza.Message)
		if !ok || m.Body == "" {
			continue
		}
		if m.Body == "for the bare JID" {
			t.Fatal("a message for the bare JID reached the unavailable session")
		}
		if m.Body == "for the full JID" {
			break
		}
	}
	q.Close()
	// The user's next real client gets it from offline storage.
	r := srv.Dial(t, quiet)
	rs := r.Subscribe()
	defer rs.Close()
	for {
		st, err := rs.Next(ctx(t))
		if err != nil {
			t.Fatalf("offline message not delivered to the next client: %v", err)
		}
		if m, ok := st.(*stanza.Message); ok && m.Body == "for the bare JID" {
			return
		}
	}
}
