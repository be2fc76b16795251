package conn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Assumption "direct write" (direct.go): the conn field is the connection
// go-xmpp writes its stream to, with nothing buffered in between, so that a
// stanza written to it directly reaches the server in order with those
// SendOrg writes, for direct TLS and STARTTLS alike.
func TestContractDirectWrite(t *testing.T) {
	for _, starttls := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct TLS", true: "STARTTLS"}[starttls], func(t *testing.T) {
			got := make(chan []string, 1)
			addr := startServer(t, serverConfig{startTLS: starttls}, func(p *peer) {
				var ids []string
				for len(ids) < 3 {
					el, ok := p.next()
					if !ok {
						break
					}
					if el.XMLName.Local == "message" {
						ids = append(ids, attrOf(el, "id"))
					}
				}
				got <- ids
			})
			c := dialGoXMPP(t, goxmppOptions(t, addr, starttls, nil))
			w := streamOf(c)
			if w == nil {
				t.Fatal("streamOf found no connection in go-xmpp's client")
			}
			if _, err := c.SendOrg("<message id='1'/>"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("<message id='2'/>\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := c.SendOrg("<message id='3'/>"); err != nil {
				t.Fatal(err)
			}
			select {
			case ids := <-got:
				if strings.Join(ids, " ") != "1 2 3" {
					t.Errorf("the server read the messages %q, want 1 2 3 in order", ids)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not read three messages")
			}
		})
	}
}

// A session writes its stanzas itself unless --debug-xml must print them;
// either way the server gets the same bytes, the stanza and a newline.
func TestSessionWritesDirect(t *testing.T) {
	for _, debug := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "debug-xml"}[debug], func(t *testing.T) {
			var out strings.Builder
			s, _, ss := dialScriptedServer(t, func(o *Options) {
				if debug {
					o.DebugXML = &out
				}
			})
			if (s.w != nil) == debug {
				t.Fatalf("direct writer %v with debug-xml %v", s.w, debug)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			before := s.tap.sm.outCount()
			m := stanza.Message{ID: "m1", To: "peer@example.org", Type: stanza.ChatMessage, Body: "a <b> & c"}
			if err := s.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			want := `<message xmlns="jabber:client" id="m1" to="peer@example.org" type="chat"><body>a &lt;b&gt; &amp; c</body></message>` + "\n"
			if got, ok := ss.got.waitFor(ctx, want); !ok {
				t.Errorf("the server read %q, want it to end in %q", got, want)
			}
			if n := s.tap.sm.outCount(); n != before+1 {
				t.Errorf("stream management counted %d stanzas sent, want %d", n, before+1)
			}
			if debug != strings.Contains(out.String(), "SEND <message") {
				t.Errorf("debug-xml output %q", out.String())
			}
		})
	}
}

// A stanza over the server's advertised limit (XEP-0478) is refused before
// anything is written, as SendOrg refuses it, and the session goes on.
func TestDirectWriteLimit(t *testing.T) {
	s, _, ss := dialScriptedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.c.LimitMaxBytes = 128
	before := s.tap.sm.outCount()
	err := s.Send(ctx, stanza.Message{ID: "big", To: "peer@example.org", Body: strings.Repeat("x", 200)})
	if err == nil || !strings.Contains(err.Error(), "exceeds server limit") {
		t.Fatalf("an oversized stanza gave %v", err)
	}
	if n := s.tap.sm.outCount(); n != before {
		t.Errorf("the refused stanza was counted as sent: %d → %d", before, n)
	}
	if err := s.Send(ctx, stanza.Message{ID: "small", To: "peer@example.org"}); err != nil {
		t.Fatalf("the next stanza: %v", err)
	}
	got, ok := ss.got.waitFor(ctx, `id="small"`)
	if !ok || strings.Contains(got, `id="big"`) {
		t.Errorf("the server read %q: want the small stanza and nothing of the refused one", got)
	}
}

// BenchmarkSessionSend: one chat message through a session, written
// directly (the default after login) and through go-xmpp's SendOrg, in one
// run; the bytes and allocations per stanza are what --lines pays per line.
func BenchmarkSessionSend(b *testing.B) {
	for _, direct := range []bool{true, false} {
		b.Run(map[bool]string{true: "direct", false: "SendOrg"}[direct], func(b *testing.B) {
			s, _ := dialScripted(b)
			if !direct {
				s.w = nil
			}
			ctx := context.Background()
			m := &stanza.Message{ID: "0123456789abcdef01", To: "peer@example.org", Type: stanza.ChatMessage,
				Body: "line 0001 of the lines benchmark"}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Send(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
