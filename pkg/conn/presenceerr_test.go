package conn

import (
	"testing"
)

// ejabberd's answer to a wrong room password: condition first, then text.
const ejabberdRoomAuth = `<presence xml:lang='en' to='alice@localhost/r' from='room@conference.localhost/alice' type='error' id='j1'>` +
	`<x xmlns='http://jabber.org/protocol/muc'/><error code='401' type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
	`<text xml:lang='en' xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Incorrect password</text></error></presence>`

func TestPresenceErrorsRebuildsCondition(t *testing.T) {
	stream := `<message from='x'><body>&lt;presence type='error'&gt;</body></message>` +
		`<presence from='bob@localhost/a'><show>away</show></presence><presence from='c@localhost' type='unavailable'/>` +
		ejabberdRoomAuth + `<iq type='result' id='z'/>`
	for _, size := range []int{1, 3, 7, 64, len(stream)} {
		var p presenceErrors
		for i := 0; i < len(stream); i += size {
			p.feed([]byte(stream[i:min(i+size, len(stream))]))
		}
		e := p.take("room@conference.localhost/alice", "j1")
		if e == nil || e.Condition != "not-authorized" || e.Type != "auth" || e.Text != "Incorrect password" {
			t.Fatalf("chunks of %d: %+v", size, e)
		}
		if p.take("room@conference.localhost/alice", "j1") != nil {
			t.Fatalf("chunks of %d: taken twice", size)
		}
	}
}

func TestPresenceErrorsBounded(t *testing.T) {
	var p presenceErrors
	for range 100 {
		p.feed([]byte(ejabberdRoomAuth))
	}
	if len(p.found) != maxPresenceErrors {
		t.Fatalf("%d kept", len(p.found))
	}
	// An error presence that never ends is not kept beyond the limit.
	p.feed([]byte(`<presence type='error'>`))
	for range 100 {
		p.feed(make([]byte, 1024))
	}
	if len(p.carry) > maxErrPresence {
		t.Fatalf("carry %d bytes", len(p.carry))
	}
}

func FuzzPresenceErrors(f *testing.F) {
	f.Add([]byte(ejabberdRoomAuth), 5)
	f.Add([]byte(`<presence type="error"><error><text/></error></presence><presence`), 2)
	f.Add([]byte(`<presence type='error'/><presence type='error'><error type='x'><bad-request`), 1)
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		if size <= 0 {
			size = 1
		}
		var p presenceErrors
		for i := 0; i < len(data); i += size {
			p.feed(data[i:min(i+size, len(data))])
		}
		if len(p.found) > maxPresenceErrors || len(p.carry) > maxErrPresence+size {
			t.Fatalf("unbounded: %d found, %d carried", len(p.found), len(p.carry))
		}
		for _, e := range p.found {
			if e.err.Condition == "" {
				t.Fatal("an error without condition was kept")
			}
		}
	})
}
