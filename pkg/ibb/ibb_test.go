package ibb

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpppair"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

const (
	alice = "alice@example.org/a"
	bob   = "bob@example.org/b"
)

func TestStream(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		block int
	}{
		{"empty", 0, 4096},
		{"one byte", 1, 4096},
		{"exact blocks", 3 * 1024, 1024},
		{"partial last block", 10_000, 4096},
		{"wraps sequence numbers", 65_600, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := xmpppair.New(alice, bob)
			defer a.Close()
			defer b.Close()
			ma, mb := NewManager(a, 0), NewManager(b, 0)
			_ = mb
			// No deadline: the 65,536-block case takes 15 s on an idle
			// machine and much longer on a loaded one; a failing sender
			// ends the read below instead (the test binary's -timeout
			// bounds a real hang).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			mb.Expect(alice, "s1")
			data := make([]byte, tt.size)
			_, _ = rand.Read(data)
			errc := make(chan error, 1)
			go func() {
				c, err := ma.Open(ctx, bob, "s1", tt.block)
				if err != nil {
					errc <- err
					return
				}
				if _, err := c.WriteContext(ctx, data); err != nil {
					errc <- err
					return
				}
				errc <- c.CloseContext(ctx)
			}()
			rc, err := mb.Accept(ctx, alice, "s1")
			if err != nil {
				t.Fatal(err)
			}
			type readResult struct {
				b   []byte
				err error
			}
			readc := make(chan readResult, 1)
			go func() { b, err := io.ReadAll(rc); readc <- readResult{b, err} }()
			var got []byte
			select {
			case r := <-readc:
				if r.err != nil {
					t.Fatalf("read: %v", r.err)
				}
				got = r.b
				if err := <-errc; err != nil {
					t.Fatalf("send: %v", err)
				}
			case err := <-errc:
				if err != nil {
					t.Fatalf("send: %v", err) // the deferred Close ends the read
				}
				r := <-readc
				if r.err != nil {
					t.Fatalf("read: %v", r.err)
				}
				got = r.b
			}
			if !bytes.Equal(got, data) {
				t.Errorf("received %d bytes, want %d identical bytes", len(got), len(data))
			}
		})
	}
}

func TestOpenRefused(t *testing.T) {
	tests := []struct {
		name   string
		expect bool
		block  int
		want   stanza.Condition
	}{
		{"not expected", false, 4096, "not-acceptable"},
		{"block too large", true, 60000, "resource-constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := xmpppair.New(alice, bob)
			defer a.Close()
			defer b.Close()
			ma, mb := NewManager(a, 0), NewManager(b, 16384)
			if tt.expect {
				mb.Expect(alice, "s")
			}
			_, err := ma.Open(context.Background(), bob, "s", tt.block)
			var se *stanza.Error
			if !errors.As(err, &se) || se.Condition != tt.want {
				t.Errorf("Open error = %v, want %s", err, tt.want)
			}
		})
	}
}

// TestOutOfOrder sends blocks directly: a block far ahead of its turn is
// refused; blocks arriving swapped (concurrent handlers) are reordered.
func TestOutOfOrder(t *testing.T) {
	a, b := xmpppair.New(alice, bob)
	defer a.Close()
	defer b.Close()
	_ = NewManager(a, 0)
	// Bob's data handler says when block 1 reached it, so that block 0 is
	// sent only then, instead of after a sleep.
	entered := make(chan struct{})
	mb := NewManager(hookData{Session: b, seq: 1, entered: entered}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mb.Expect(alice, "s")
	go func() { _, _ = a.SendIQ(ctx, stanza.IQ{Type: "set", To: bob, Payload: Open{BlockSize: 4, SID: "s"}}) }()
	rc, err := mb.Accept(ctx, alice, "s")
	if err != nil {
		t.Fatal(err)
	}
	send := func(seq uint16, p string) error {
		_, err := a.SendIQ(ctx, stanza.IQ{Type: "set", To: bob,
			Payload: Data{Seq: seq, SID: "s", Payload: base64.StdEncoding.EncodeToString([]byte(p))}})
		return err
	}
	done := make(chan error, 1)
	go func() { done <- send(1, "two") }() // waits for seq 0
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("block 1 never reached bob")
	}
	if err := send(0, "one"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(rc, buf); err != nil || string(buf) != "onetwo" {
		t.Fatalf("read %q, %v; want onetwo", buf, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var se *stanza.Error
	if err := send(500, "far"); !errors.As(err, &se) || se.Condition != "unexpected-request" {
		t.Errorf("far-ahead block: error %v, want unexpected-request", err)
	}
	if _, err := rc.Read(buf); err == nil || err == io.EOF {
		t.Errorf("read after a sequence error = %v, want the error", err)
	}
}

func TestBadBlock(t *testing.T) {
	a, b := xmpppair.New(alice, bob)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ma, mb := NewManager(a, 0), NewManager(b, 0)
	mb.Expect(alice, "s")
	c, err := ma.Open(ctx, bob, "s", 4)
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	for _, payload := range []string{"!!notbase64", base64.StdEncoding.EncodeToString([]byte("toolong"))} {
		_, err := a.SendIQ(ctx, stanza.IQ{Type: "set", To: bob, Payload: Data{Seq: 0, SID: "s", Payload: payload}})
		var se *stanza.Error
		if !errors.As(err, &se) {
			t.Errorf("payload %q accepted", payload)
		}
	}
}

func FuzzDecodeData(f *testing.F) {
	f.Add([]byte(`<data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='s'>aGVsbG8=</data>`))
	f.Add([]byte(`<data xmlns='http://jabber.org/protocol/ibb' seq='65536' sid='s'></data>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var el stanza.Element
		if err := xmlUnmarshal(b, &el); err != nil {
			return
		}
		d, err := parseData(el)
		if err != nil {
			return
		}
		_, _ = base64.StdEncoding.DecodeString(d.Payload)
	})
}

func TestParseData(t *testing.T) {
	tests := []struct {
		in      string
		want    Data
		wantErr bool
	}{
		{`<data xmlns='http://jabber.org/protocol/ibb' seq='7' sid='s'>aGVsbG8=</data>`, Data{Seq: 7, SID: "s", Payload: "aGVsbG8="}, false},
		{`<data xmlns='http://jabber.org/protocol/ibb' seq='65535' sid='s'>aGVs&#x62;G8=</data>`, Data{Seq: 65535, SID: "s", Payload: "aGVsbG8="}, false},
		{`<data xmlns='http://jabber.org/protocol/ibb' seq='65536' sid='s'>aGVsbG8=</data>`, Data{}, true},
		{`<data xmlns='http://jabber.org/protocol/ibb' seq='x' sid='s'>aGVsbG8=</data>`, Data{}, true},
	}
	for _, tt := range tests {
		var el stanza.Element
		if err := xmlUnmarshal([]byte(tt.in), &el); err != nil {
			t.Fatal(err)
		}
		got, err := parseData(el)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v", tt.in, err)
			continue
		}
		if err == nil && (got.Seq != tt.want.Seq || got.SID != tt.want.SID || got.Payload != tt.want.Payload) {
			t.Errorf("%s: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// hookData is a session whose ibb data handler closes entered when the
// block numbered seq arrives, before handling it.
type hookData struct {
	*xmpppair.Session
	seq     uint16
	entered chan struct{}
}

func (h hookData) HandleIQ(space, local string, fn conn.IQHandler) {
	if space != NS || local != "data" {
		h.Session.HandleIQ(space, local, fn)
		return
	}
	h.Session.HandleIQ(space, local, func(ctx context.Context, iq *stanza.IQ) (any, error) {
		if d, err := parseData(iq.Query); err == nil && d.Seq == h.seq {
			close(h.entered)
		}
		return fn(ctx, iq)
	})
}
