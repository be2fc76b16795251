package conn

import (
	"strings"
	"testing"
)

// feedChunks feeds s in chunks of n bytes, as reads split it.
func feedChunks(sc *streamScan, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		sc.feed([]byte(s[:k]))
		s = s[k:]
	}
}

const serverStream = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x'>` +
	`<stream:features><sm xmlns='urn:xmpp:sm:3'/></stream:features>` +
	`<enabled xmlns='urn:xmpp:sm:3'/>` +
	`<message from='a@b/c'><body>1 &lt;a xmlns='urn:xmpp:sm:3' h='99'/&gt;</body>` +
	`<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><a href='x>y'>l</a></body></html>` +
	`<a xmlns='urn:xmpp:sm:3' h='77'/><r xmlns='urn:xmpp:sm:3'/></message>` +
	`<presence/><r xmlns='urn:xmpp:sm:3'/>` +
	`<a xmlns="urn:xmpp:sm:3" h="2"/>` +
	`<iq type='result' id='1'/><r xmlns='urn:xmpp:sm:3'/>`

func TestScanCountsTopLevelOnly(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 64, 1 << 20} {
		var m smCounters
		m.enableSent, m.out = true, 2 // as if we had sent two stanzas after <enable/>
		sc := streamScan{onTop: m.onRecv}
		feedChunks(&sc, serverStream, n)
		if m.in != 3 {
			t.Errorf("chunk %d: %d inbound stanzas, want 3", n, m.in)
		}
		if got := m.ackedCount(); got != 2 {
			t.Errorf("chunk %d: acked %d, want 2 (the nested h=77 and h=99 are not acks)", n, got)
		}
		// Two top-level <r/>: after 2 and 3 stanzas; the nested one is ignored.
		if a, b := m.answerR(), m.answerR(); a != 2 || b != 3 {
			t.Errorf("chunk %d: answers %d, %d, want 2, 3", n, a, b)
		}
	}
}

func TestScanOutbound(t *testing.T) {
	var m smCounters
	sc := streamScan{onTop: m.onSend}
	for _, w := range []string{
		`<?xml version='1.0'?><stream:stream to='b' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
		`<iq type='set' id='1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`,
		"<presence xml:lang='en'><show></show><status></status></presence>\n",
		`<enable xmlns='urn:xmpp:sm:3'/>`,
		`<message to='x'><body>a&lt;b</body></message><message to='y'/>`,
		`<r xmlns='urn:xmpp:sm:3'/>`,
	} {
		sc.feed([]byte(w))
	}
	if m.out != 4 || m.outBase != 2 {
		t.Errorf("out %d base %d, want 4 and 2", m.out, m.outBase)
	}
	var r smCounters
	r.enableSent, r.out, r.outBase, r.acked = true, 4, 2, 2
	rs := streamScan{depth: 1, onTop: r.onRecv}
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{`<a xmlns='urn:xmpp:sm:3' h='1'/>`, 3},
		{`<a xmlns='urn:xmpp:sm:3' h='0'/>`, 3},    // backwards: ignored
		{`<a xmlns='urn:xmpp:sm:3' h='5'/>`, 3},    // more than we sent: ignored
		{`<a xmlns='urn:xmpp:sm:3' h='x'/>`, 3},    // garbage
		{`<a xmlns='urn:example' h='2'/>`, 3},      // another namespace
		{`<a h='2' xmlns='urn:xmpp:sm:3'></a>`, 4}, // attribute order, long form
	} {
		rs.feed([]byte(c.in))
		if got := r.ackedCount(); got != c.want {
			t.Errorf("after %s: acked %d, want %d", c.in, got, c.want)
		}
	}
}

func TestScanHWraps(t *testing.T) {
	var m smCounters
	m.enableSent, m.outBase, m.out = true, 0, 1<<32+10
	m.acked = 1<<32 - 2
	sc := streamScan{depth: 1, onTop: m.onRecv}
	sc.feed([]byte(`<a xmlns='urn:xmpp:sm:3' h='3'/>`))
	if got := m.ackedCount(); got != 1<<32+3 {
		t.Errorf("acked %d, want %d", got, uint64(1<<32+3))
	}
}

func FuzzStreamScan(f *testing.F) {
	f.Add(serverStream, 5)
	f.Add(`<a h='1' xmlns='urn:xmpp:sm:3'`+strings.Repeat(" x='>'", 200)+`/>`, 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n <= 0 {
			n = 1
		}
		var m smCounters
		m.enableSent, m.out = true, 10
		sc := streamScan{onTop: m.onRecv}
		feedChunks(&sc, s, n)
		if a := m.ackedCount(); a > m.out {
			t.Fatalf("acked %d beyond the %d sent", a, m.out)
		}
		if len(sc.tag) > maxTag {
			t.Fatalf("tag buffer %d", len(sc.tag))
		}
		_ = m.answerR()
	})
}

func TestScanStreamErrorCondition(t *testing.T) {
	var m smCounters
	sc := streamScan{onTop: m.onRecv, onChild: m.onRecvChild}
	feedChunks(&sc, `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><message><policy-violation/></message>`+
		`<stream:error><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>XML stanza is too big</text>`+
		`<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`, 5)
	if got := m.streamError(); got != PolicyViolation {
		t.Errorf("condition %q, want policy-violation", got)
	}
}

// The typed stream conditions must be the wire names: each is written
// literally into a stream error, scanned as the session scans the server's
// stream, and must come back as the constant.
func TestStreamConditionWireNames(t *testing.T) {
	for _, tc := range []struct {
		wire string
		cond StreamCondition
	}{{"bad-format", BadFormat}, {"bad-namespace-prefix", BadNamespacePrefix}, {"conflict", Conflict},
		{"connection-timeout", ConnectionTimeout}, {"host-gone", HostGone}, {"host-unknown", HostUnknown},
		{"improper-addressing", ImproperAddressing}, {"internal-server-error", InternalServerError},
		{"invalid-from", InvalidFrom}, {"invalid-namespace", InvalidNamespace}, {"invalid-xml", InvalidXML},
		{"not-authorized", NotAuthorized}, {"not-well-formed", NotWellFormed}, {"policy-violation", PolicyViolation},
		{"remote-connection-failed", RemoteConnectionFailed}, {"reset", Reset},
		{"resource-constraint", ResourceConstraint}, {"restricted-xml", RestrictedXML},
		{"see-other-host", SeeOtherHost}, {"system-shutdown", SystemShutdown},
		{"undefined-condition", UndefinedCondition}, {"unsupported-encoding", UnsupportedEncoding},
		{"unsupported-feature", UnsupportedFeature}, {"unsupported-stanza-type", UnsupportedStanzaType},
		{"unsupported-version", UnsupportedVersion}} {
		t.Run(tc.wire, func(t *testing.T) {
			var m smCounters
			sc := streamScan{onTop: m.onRecv, onChild: m.onRecvChild}
			feedChunks(&sc, `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><stream:error><`+
				tc.wire+` xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`, 7)
			if got := m.streamError(); got != tc.cond {
				t.Fatalf("scanned %q, want %q", got, tc.cond)
			}
		})
	}
}
