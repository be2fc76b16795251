package conn

import (
	"context"
	"errors"
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
