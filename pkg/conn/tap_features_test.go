package conn

import (
	"reflect"
	"testing"
)

// go-xmpp's debug writer appends "\n" to chunks lacking one; the tap must
// rebuild features split across chunks without those newlines.
func TestTapCapturesStreamFeatures(t *testing.T) {
	tp := newTap(nil)
	chunks := []string{
		"RECV <?xml version='1.0'?><stream:stream xmlns='jabber:client'><stream:feat\n",
		"RECV ures><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>\n",
		"SEND <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n",
		"RECV <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n",
		"RECV <stream:stream><stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PL\n",
		"RECV AIN</mechanism></mechanisms></stream:features>",
		"RECV <success xmlns='urn:xmpp:sasl:2'/><stream:features><c hash='sha-1' ver='j/Y9\n",
		"RECV 4sSrQ04HC31Dsn52+Z4ESGQ=' xmlns='http://jabber.org/protocol/caps' node='http://prosody.im'/></stream:features><stream:features/>\n",
	}
	for _, c := range chunks {
		if _, err := tp.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	tp.endLogin(nil)
	_, _ = tp.Write([]byte("RECV <stream:features><late/></stream:features>"))
	got := tp.streamFeatures()
	want := []string{
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
		"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		"<stream:features><c hash='sha-1' ver='j/Y94sSrQ04HC31Dsn52+Z4ESGQ=' xmlns='http://jabber.org/protocol/caps' node='http://prosody.im'/></stream:features>",
		"<stream:features/>",
	}
	var gs []string
	for _, g := range got {
		gs = append(gs, string(g))
	}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("features:\n got %q\nwant %q", gs, want)
	}
}
