package conn

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

const markerMsg = `<message from='friend@example.org/x' to='me@example.org/r' type='chat' id='marker'><body>still here</body></message>`

// survives writes raw to the session's stream, then a normal message, then
// ends the stream, and reports whether the session delivered that message
// before the end (false: raw ended it, and the error says how). Closing
// the server's side means that input the decoder waits on (an unfinished
// element) ends too: a session that then never ends is stuck, and the
// test fails.
func survives(t testing.TB, s *session, c net.Conn, raw string) (bool, error) {
	t.Helper()
	sub := s.Subscribe()
	defer sub.Close()
	if _, err := c.Write([]byte(raw + markerMsg)); err != nil {
		t.Fatal(err)
	}
	if err := c.(*tls.Conn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		st, err := sub.Next(ctx)
		if err != nil {
			select { // the queue is shut just before Done closes
			case <-s.Done():
				return false, s.Err()
			case <-ctx.Done():
			}
			t.Fatalf("neither the next message nor the end of the stream after %.200q: %v", raw, err)
		}
		if m, ok := st.(*stanza.Message); ok && m.ID == "marker" {
			return true, nil
		}
	}
}

// hostileStanzas are well-formed stanzas a stranger can send (a server
// forwards them as they are) that go-xmpp v0.4.1 fails to turn into a
// value. Each must cost that stanza only.
var hostileStanzas = map[string]string{
	// go-xmpp's Recv unmarshals the first item's body as avatar
	// metadata: an empty item is io.EOF, which looked like the end of
	// the connection (issue 14 defect 2).
	"avatar metadata, empty item":  `<message from='stranger@evil.example/x' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'/></items></event></message>`,
	"avatar metadata, no items":    `<message from='stranger@evil.example/x' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'/></event></message>`,
	"avatar metadata, wrong child": `<message from='stranger@evil.example/x'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'><data xmlns='urn:xmpp:avatar:data'/></item></items></event></message>`,
	"avatar metadata, bad numbers": `<message from='stranger@evil.example/x'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'><metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='many' width='-' height='x' id='x' type='image/png'/></metadata></item></items></event></message>`,
	"avatar metadata, text item":   `<message from='stranger@evil.example/x'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'>just text</item></items></event></message>`,
	// IQ results go-xmpp parses a second time by namespace.
	"disco#items result, wrong child": `<iq from='stranger@evil.example/x' type='result' id='zz'><query xmlns='http://jabber.org/protocol/disco#items'/><x/></iq>`,
	"disco#info result with text":     `<iq from='stranger@evil.example/x' type='result' id='zz'>text<query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
	"upload slot result, bad":         `<iq from='stranger@evil.example/x' type='result' id='zz'><slot xmlns='urn:xmpp:http:upload:0'>text</slot><other/></iq>`,
}

// TestHostileStanzaCostsOnlyItself (issue 14 defect 2) runs each hostile
// stanza through both receive paths (read.go's and go-xmpp's Recv): the
// session must deliver the next normal message.
func TestHostileStanzaCostsOnlyItself(t *testing.T) {
	paths(t, func(t *testing.T, opts ...func(*Options)) {
		for name, raw := range hostileStanzas {
			t.Run(name, func(t *testing.T) {
				s, c := dialScripted(t, opts...)
				ok, err := survives(t, s, c, raw)
				if !ok {
					t.Fatalf("the session ended: %v", err)
				}
			})
		}
	})
}

// TestLostStanzaAssumptions fences lostStanza: what go-xmpp v0.4.1 returns
// for an error after a whole stanza (a typed zero value, stream intact) and
// for an error inside one (a zero Chat, stream unusable: the session must
// end, not hang on go-xmpp's still-locked decoder mutex).
func TestLostStanzaAssumptions(t *testing.T) {
	s, c := dialScripted(t, viaRecv)
	before := inCount(s)
	if ok, err := survives(t, s, c, hostileStanzas["avatar metadata, empty item"]); !ok {
		t.Fatalf("go-xmpp no longer reports a bad avatar item as a typed value: the session ended (%v)", err)
	}
	if n := inCount(s) - before; n < 2 {
		t.Errorf("XEP-0198 count %d: the lost stanza was not counted", n)
	}
	s, c = dialScripted(t, viaRecv)
	ok, err := survives(t, s, c, `<message from='stranger@evil.example/x'><body>&undefined;</body></message>`)
	if ok {
		t.Fatal("a stanza the XML decoder failed inside was skipped: the decoder state is unknown after it")
	}
	if err == nil {
		t.Fatal("the stream ended without an error")
	}
}

// wellFormedStanza reports whether raw is exactly one well-formed message,
// presence or iq in the jabber:client namespace with no comment,
// processing instruction or directive: something a server forwards.
func wellFormedStanza(raw string) bool {
	d := xml.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>` + raw + `</stream:stream>`))
	depth, tops := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return tops == 1
		}
		if err != nil {
			return false
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				tops++
				if tok.Name.Space != stanza.NSClient || (tok.Name.Local != "message" && tok.Name.Local != "presence" && tok.Name.Local != "iq") {
					return false
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 1 && strings.TrimSpace(string(tok)) != "" {
				return false
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
			return false
		}
	}
}

// FuzzRecvLoop feeds stanzas through the real go-xmpp decoding path (a
// scripted server on loopback) into the session's receive loop: a
// well-formed stanza never ends the session (the next message arrives),
// and nothing makes it panic or hang.
func FuzzRecvLoop(f *testing.F) {
	for _, raw := range hostileStanzas {
		f.Add(raw)
	}
	for _, raw := range []string{
		`<message from='a@b/c' type='chat'><body>hi</body></message>`,
		`<presence from='a@b/c'><priority>x</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>`,
		`<iq from='a@b/c' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`,
		`<iq from='a@b/c' type='set' id='2'><query xmlns='jabber:iq:roster'><item jid='x@y'/></query></iq>`,
		`<iq from='a@b/c' type='result' id='3'/>`,
		`<message from='a@b/c'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:data'><item id='x'/></items></event></message>`,
		`<message from='a@b/c' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<message><body>&amp;&lt;</body><delay xmlns='urn:xmpp:delay' stamp='not a time'/></message>`,
		`<foo xmlns='urn:xmpp:sm:3'/>`,
	} {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Contains(raw, "stream") {
			return // stream-level elements may end a stream by design
		}
		s, c := dialScripted(t)
		ok, err := survives(t, s, c, raw)
		if !ok && wellFormedStanza(raw) {
			t.Fatalf("the well-formed stanza %q ended the session: %v", raw, err)
		}
	})
}
