package conn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func viaRecv(o *Options) { o.viaRecv = true }

func viaDecoder(o *Options) { o.viaDecoder = true }

// paths runs f once on each receive path: the session framing the stream
// itself (production), decoding it with go-xmpp's decoder (the fallback
// when the handoff finds go-xmpp or encoding/xml changed) and through
// go-xmpp's Recv (the fallback when even the decoder is not found).
func paths(t *testing.T, f func(t *testing.T, opts ...func(*Options))) {
	t.Run("framed", func(t *testing.T) { f(t) })
	t.Run("decoder", func(t *testing.T) { f(t, viaDecoder) })
	t.Run("Recv", func(t *testing.T) { f(t, viaRecv) })
}

// inCount is how many stanzas the tap has counted in (what the session's
// XEP-0198 answers say).
func inCount(s *session) uint64 {
	s.tap.sm.mu.Lock()
	defer s.tap.sm.mu.Unlock()
	return s.tap.sm.in
}

// next returns the next message or presence the subscription gets.
func nextOf(t *testing.T, sub Subscription) stanza.Stanza {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("nothing delivered: %v", err)
	}
	return st
}

// TestContractDecoder fences the assumption "the stream decoder is the p
// field" (doc.go): go-xmpp v0.4.1 reads the stream after login with the
// *xml.Decoder in its unexported p field, and nothing but our receive loop
// reads it then. The session finds it, and what it decodes itself keeps
// what go-xmpp's Recv dropped: the message's delay stamp with fractions of
// a second and its status-code-like extensions.
func TestContractDecoder(t *testing.T) {
	s, c := dialScripted(t)
	if s.dec == nil {
		t.Fatal("go-xmpp's decoder (the p field) not found: the receive loop goes through Recv")
	}
	sub := s.Subscribe()
	defer sub.Close()
	before := inCount(s)
	if _, err := c.Write([]byte(`<message from='friend@example.org/x' to='me@example.org' type='chat' id='d1'><body>a &amp; b</body>` +
		`<delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00.123456Z'/></message>`)); err != nil {
		t.Fatal(err)
	}
	m, ok := nextOf(t, sub).(*stanza.Message)
	if !ok || m.ID != "d1" || m.Body != "a & b" || m.To != s.jid {
		t.Fatalf("got %+v", m)
	}
	d, ok := stanza.Find(m.Ext, stanza.NSDelay, "delay")
	if !ok || d.Attr("stamp") != "2024-05-01T10:00:00.123456Z" {
		t.Errorf("delay %+v, want the stamp as sent", d)
	}
	if got := inCount(s) - before; got != 1 {
		t.Errorf("%d stanzas counted in for XEP-0198, want 1", got)
	}
}

// TestContractHandoff fences the assumption "the decoder's read-ahead can
// be taken over" (handoff.go): after login the session frames the stream
// itself, go-xmpp's decoder is left with nothing buffered, and the tap
// still sees every byte first: the stanza is counted for XEP-0198 and
// --debug-xml prints it as before, one "RECV " line per read.
func TestContractHandoff(t *testing.T) {
	var debug received
	s, c := dialScripted(t, func(o *Options) { o.DebugXML = &debug })
	if s.stream == nil {
		t.Fatal("the stream was not taken over from go-xmpp's decoder: encoding/xml's or go-xmpp's internals changed (see handoff.go)")
	}
	if src := fieldPtr[io.ByteReader](s.dec, "r"); src == nil {
		t.Fatal("the decoder's source is gone")
	} else if br, ok := (*src).(*bufio.Reader); !ok || br.Buffered() != 0 {
		t.Fatalf("go-xmpp's decoder still holds read-ahead bytes (%T)", *src)
	}
	sub := s.Subscribe()
	defer sub.Close()
	before := inCount(s)
	const msg = `<message from='friend@example.org/x' to='me@example.org' type='chat' id='t1'><body>through the tap</body></message>`
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if m, ok := nextOf(t, sub).(*stanza.Message); !ok || m.Body != "through the tap" {
		t.Fatalf("got %+v", m)
	}
	if got := inCount(s) - before; got != 1 {
		t.Errorf("%d stanzas counted in for XEP-0198, want 1", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, ok := debug.waitFor(ctx, "RECV "+msg+"\n"); !ok {
		t.Errorf("--debug-xml lacks the stanza's RECV line:\n%s", got)
	}
}

// framedCorpus adds to readCorpus what only the framing sees: whitespace
// between stanzas, markup in an element that is not an element, a '>' in
// an attribute value, an element larger than the framer's buffer.
var framedCorpus = append(append([]string(nil), readCorpus...),
	"\n  \t",
	`<message from='friend@example.org/x' type='chat' id='f1'><body><![CDATA[<not> an </element>]]></body><!-- a <comment> --><x xmlns='urn:x' a='1 > 0'><?pi <x>?></x><y xmlns='urn:y' b='/>' c="'>"/><z xmlns='urn:z' d='>'/></message>`,
	`<presence from='friend@example.org/x' id='f2'><status>`+strings.Repeat("long &amp; ", 4000)+`</status></presence>`,
	`<message from='friend@example.org/x' id='f3' type='chat'><body>plain</body><stanza-id xmlns='urn:xmpp:sid:0' id='s3' by='me@example.org'/></message>`,
)

// The framed stream gives exactly what go-xmpp's decoder gave, stanza for
// stanza, whether the stanzas come together or a byte at a time.
func TestFramedMatchesDecoder(t *testing.T) {
	var stanzas []string
	for _, s := range framedCorpus {
		if strings.TrimSpace(s) != "" {
			stanzas = append(stanzas, s)
		}
	}
	for _, split := range []bool{false, true} {
		got := map[bool][]stanza.Stanza{}
		for _, framed := range []bool{true, false} {
			var opts []func(*Options)
			if !framed {
				opts = append(opts, viaDecoder)
			}
			s, c := dialScripted(t, opts...)
			if (s.stream != nil) != framed {
				t.Fatalf("framed %v, stream taken %v", framed, s.stream != nil)
			}
			sub := s.Subscribe()
			all := []byte(strings.Join(framedCorpus, ""))
			if split {
				for i := range all {
					if _, err := c.Write(all[i : i+1]); err != nil {
						t.Fatal(err)
					}
				}
			} else if _, err := c.Write(all); err != nil {
				t.Fatal(err)
			}
			for range stanzas {
				got[framed] = append(got[framed], nextOf(t, sub))
			}
			sub.Close()
		}
		for i := range stanzas {
			if !reflect.DeepEqual(got[true][i], got[false][i]) {
				t.Errorf("split %v, stanza %d differs:\nframed  %#v\ndecoder %#v", split, i, got[true][i], got[false][i])
			}
		}
	}
}

// readCorpus is what a server sends that both receive paths must turn
// into the same values (TestReadMatchesRecv).
var readCorpus = []string{
	`<message from='friend@example.org/x' to='me@example.org/r' type='chat' id='c1' xml:lang='de'><subject>s</subject><body>hi &lt;3</body><thread>t1</thread>` +
		`<origin-id xmlns='urn:xmpp:sid:0' id='o1'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='me@example.org'/>` +
		`<x xmlns='jabber:x:oob'><url>https://example.org/f</url><desc>file</desc></x><request xmlns='urn:xmpp:receipts'/>` +
		`<delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z'/></message>`,
	`<message from='room@muc.example.org/carol' type='groupchat' id='g1'><body>hello room</body>` +
		`<occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ'/><stanza-id xmlns='urn:xmpp:sid:0' id='rs1' by='room@muc.example.org'/></message>`,
	`<message from='nobody@example.org' type='error' id='e1'><body>back</body><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>gone</text></error></message>`,
	`<message from='friend@example.org/x' type='error' id='e2'/>`,
	`<message id='m1'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='a1'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<delay xmlns='urn:xmpp:delay' stamp='2024-05-01T10:00:00Z'/><message xmlns='jabber:client' from='friend@example.org/x' to='me@example.org' type='chat'><body>old</body></message>` +
		`</forwarded></result></message>`,
	`<message from='me@example.org' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<message xmlns='jabber:client' from='friend@example.org/x' to='me@example.org/phone' type='chat'><body>copy</body></message></forwarded></received></message>`,
	`<presence from='friend@example.org/x' id='p1'><show>away</show><status>out</status>` +
		`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>`,
	`<presence from='room@muc.example.org/carol'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='carol@example.org/y'/></x></presence>`,
	`<presence from='room@muc.example.org/me' type='error' id='p2'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
	`<presence from='friend@example.org/x' type='unavailable'/>`,
}

// TestReadMatchesRecv delivers the same stanzas to a session reading the
// stream itself and to one going through go-xmpp's Recv: every field Recv
// gave is the same, and every extension element it gave is there with the
// same attributes (and, unless convert.go rebuilt it, the same content).
// Reading it ourselves may only add (more extensions, a real error text).
func TestReadMatchesRecv(t *testing.T) {
	got := map[bool][]stanza.Stanza{}
	for _, recv := range []bool{true, false} {
		var opts []func(*Options)
		if recv {
			opts = append(opts, viaRecv)
		}
		s, c := dialScripted(t, opts...)
		if (s.dec == nil) != recv {
			t.Fatalf("viaRecv %v but reading itself %v", recv, s.dec != nil)
		}
		sub := s.Subscribe()
		if _, err := c.Write([]byte(strings.Join(readCorpus, ""))); err != nil {
			t.Fatal(err)
		}
		for range readCorpus {
			got[recv] = append(got[recv], nextOf(t, sub))
		}
		sub.Close()
	}
	for i, want := range got[true] {
		have := got[false][i]
		switch w := want.(type) {
		case *stanza.Message:
			h, ok := have.(*stanza.Message)
			if !ok {
				t.Fatalf("%d: %T, want a message", i, have)
			}
			if w.ID != h.ID || w.From != h.From || w.To != h.To || w.Type != h.Type || w.Body != h.Body ||
				w.Subject != h.Subject || w.Thread != h.Thread || w.Lang != h.Lang {
				t.Errorf("%d: fields differ:\nrecv %+v\nread %+v", i, w, h)
			}
			sameError(t, i, w.Error, h.Error)
			sameExt(t, i, w.Ext, h.Ext)
		case *stanza.Presence:
			h, ok := have.(*stanza.Presence)
			if !ok {
				t.Fatalf("%d: %T, want a presence", i, have)
			}
			if w.ID != h.ID || w.From != h.From || w.Type != h.Type || w.Show != h.Show || w.Status != h.Status {
				t.Errorf("%d: fields differ:\nrecv %+v\nread %+v", i, w, h)
			}
			sameError(t, i, w.Error, h.Error)
			sameExt(t, i, w.Ext, h.Ext)
		default:
			t.Fatalf("%d: %T delivered", i, want)
		}
	}
}

func sameError(t *testing.T, i int, w, h *stanza.Error) {
	t.Helper()
	if (w == nil) != (h == nil) || w != nil && (w.Condition != h.Condition || w.Text != "" && w.Text != h.Text) {
		t.Errorf("%d: error %+v, read %+v", i, w, h)
	}
}

// sameExt checks that every element of want is in have with the same
// attributes and, where go-xmpp kept the raw content, the same content
// (convert.go rebuilds oob and the MUC item, with the same meaning).
func sameExt(t *testing.T, i int, want, have []stanza.Element) {
	t.Helper()
	for _, w := range want {
		j := slices.IndexFunc(have, func(h stanza.Element) bool { return h.XMLName == w.XMLName })
		if j < 0 {
			t.Errorf("%d: <%s xmlns=%q> missing", i, w.XMLName.Local, w.XMLName.Space)
			continue
		}
		h := have[j]
		for _, a := range w.Attrs {
			if h.Attr(a.Name.Local) != a.Value {
				t.Errorf("%d: <%s> %s=%q, read %q", i, w.XMLName.Local, a.Name.Local, a.Value, h.Attr(a.Name.Local))
			}
		}
		rebuilt := w.Is(stanza.NSOOB, "x") || w.Is(stanza.NSMUCUser, "x")
		if !rebuilt && !bytes.Equal(w.Inner, h.Inner) {
			t.Errorf("%d: <%s> content %q, read %q", i, w.XMLName.Local, w.Inner, h.Inner)
		}
		if rebuilt && textOf(h.Inner) != textOf(w.Inner) {
			t.Errorf("%d: <%s> content %q, read %q", i, w.XMLName.Local, w.Inner, h.Inner)
		}
	}
}

// textOf is the character data of raw XML.
func textOf(raw []byte) string {
	var b strings.Builder
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return b.String()
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
		}
	}
}

// TestReadBuiltins: a ping gets its result before any handler (as Recv
// answered it), a pubsub event message is dropped, and an SM <r/> is
// answered with an h that counts the three stanzas before it.
// A version query, which Recv answered itself, reaches the IQ handler
// (pkg/online registers one), else service-unavailable. Then the next
// message is delivered.
func TestReadBuiltins(t *testing.T) {
	type versionQuery struct {
		XMLName xml.Name `xml:"jabber:iq:version query"`
		Name    string   `xml:"name"`
		Version string   `xml:"version"`
	}
	for _, handler := range []bool{false, true} {
		s, c, ss := dialScriptedServer(t)
		if handler {
			s.HandleIQ("jabber:iq:version", "query", func(context.Context, *stanza.IQ) (any, error) {
				return versionQuery{Name: "xmppctl", Version: "9.9"}, nil
			})
		}
		sub := s.Subscribe()
		before := inCount(s)
		raw := `<iq from='example.org' type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>` +
			`<iq from='bob@example.org/x' type='get' id='ver1'><query xmlns='jabber:iq:version'/></iq>` +
			`<message from='bob@example.org'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'/></event></message>` +
			`<r xmlns='urn:xmpp:sm:3'/>` + markerMsg
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		if m, ok := nextOf(t, sub).(*stanza.Message); !ok || m.ID != "marker" {
			t.Fatalf("delivered %+v before the marker", m)
		}
		sub.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		want := `<query xmlns="jabber:iq:version"><name>xmppctl</name><version>9.9</version></query>`
		if !handler {
			want = `<service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">`
		}
		h := fmt.Sprintf(`<a xmlns='urn:xmpp:sm:3' h='%d'/>`, before+3)
		for _, w := range []string{`id="ping1" to="example.org" type="result"`, want, h} {
			if out, ok := ss.got.waitFor(ctx, w); !ok {
				t.Errorf("version handler %v: the client never wrote %s; wrote:\n%s", handler, w, out)
			}
		}
		cancel()
	}
}

// FuzzReadStanza feeds a stream of anything after login to the receive
// loop's decoding: it returns stanzas, nonzas or an error, and never
// panics or loops without reading.
func FuzzReadStanza(f *testing.F) {
	for _, c := range readCorpus {
		f.Add(c)
	}
	for _, c := range hostileStanzas {
		f.Add(c)
	}
	f.Add(`<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`)
	f.Add(`<a xmlns='urn:xmpp:sm:3' h='1'/><failed xmlns='urn:xmpp:sm:3'><item-not-found/></failed></stream:stream>`)
	f.Fuzz(func(t *testing.T, in string) {
		s := &session{jid: "me@example.org/r", tap: newTap(nil), enabled: make(chan struct{}), maxStanza: MaxStanza,
			pending: map[string]chan *stanza.IQ{}, ctx: context.Background()}
		s.closed = true // answers (pings, <a/>) go nowhere
		// Inside the stream's root, as after login.
		dec := xml.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>` + in))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for range len(in) + 2 {
			off := dec.InputOffset()
			st, err := s.readStanza(dec)
			if err != nil {
				return
			}
			if st != nil {
				_ = stanzaSize(st)
				_ = s.dropped(st)
			}
			if dec.InputOffset() == off {
				t.Fatalf("no progress at %d", off)
			}
		}
		t.Fatal("more stanzas than bytes")
	})
}
