package conn

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Without XEP-0198 (Options.NoSM, what archive sync asks for), a session
// that reads the stream itself does not scan what it reads for the
// counts; a stream error's condition still reaches its error, from the
// framed reader. With SM possible, the scan counts every stanza.
func TestNoSMSkipsReceiveScan(t *testing.T) {
	for _, noSM := range []bool{false, true} {
		s, c := dialScripted(t, func(o *Options) { o.NoSM = noSM })
		if s.stream == nil {
			t.Fatal("assumption: the session reads the stream itself after login (handoff.go)")
		}
		sub := s.Subscribe()
		before := inCount(s)
		if _, err := c.Write([]byte(`<message from='bob@example.org/x' id='m1'><body>hi</body></message>`)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := sub.Next(ctx)
		cancel()
		if err != nil || st.(*stanza.Message).ID != "m1" {
			t.Fatalf("noSM=%v: %v, %v", noSM, st, err)
		}
		if got, want := inCount(s)-before, map[bool]uint64{false: 1, true: 0}[noSM]; got != want {
			t.Errorf("noSM=%v: %d stanzas counted, want %d", noSM, got, want)
		}
		if _, err := c.Write([]byte(`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>` +
			`<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text></stream:error></stream:stream>`)); err != nil {
			t.Fatal(err)
		}
		<-s.Done()
		var ce *ConnectError
		if err := s.Err(); !errors.As(err, &ce) || ce.Condition != Conflict {
			t.Errorf("noSM=%v: %v (condition %q), want a lost connection with the condition conflict", noSM, err, ce.Condition)
		}
	}
}

// What the framed reader takes from a server's <stream:error> for the
// condition: the first child that is not <text/>, as the scan did (a
// condition nested deeper does not count); a missing condition or an
// overlong name leave it empty, and the error still ends the session.
func TestStreamErrorCondition(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct{ in, want string }{
		{`<stream:error><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye</text><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`, "system-shutdown"},
		{`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`, "conflict"},
		{`<stream:error><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>only text</text></stream:error>`, ""},
		{`<stream:error/>`, ""},
		{`<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></undefined-condition></stream:error>`, "undefined-condition"},
		{`<stream:error><` + long + `/></stream:error>`, ""},
	} {
		var m smCounters
		dec := xml.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>` + tc.in))
		var start xml.StartElement
		for start.Name.Local != "error" {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s: %v", tc.in, err)
			}
			if st, ok := tok.(xml.StartElement); ok {
				start = st
			}
		}
		if err := streamError(dec, start, &m); err == nil || !strings.HasPrefix(err.Error(), "stream error") {
			t.Errorf("%s: %v, want a stream error", tc.in, err)
		}
		if got := m.streamError(); string(got) != tc.want {
			t.Errorf("%s: condition %q, want %q", tc.in, got, tc.want)
		}
	}
}
