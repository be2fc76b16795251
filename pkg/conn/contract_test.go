package conn

import (
	"context"
	"encoding/xml"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// The contract tests: every behaviour of github.com/xmppo/go-xmpp that
// pkg/conn relies on and go-xmpp's API does not promise, asserted one by
// one against the real client driven over loopback by the scripted server
// of contract_server_test.go. A go-xmpp upgrade that breaks one fails the
// test that names the assumption; doc.go lists them with the fallback
// pkg/conn has when one breaks.

func contractCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recvNext calls Recv until it returns something other than what go-xmpp
// reports for the roster-less Chat it may hand out, with a deadline.
func recvNext(t *testing.T, c *xmpp.Client) (any, error) {
	t.Helper()
	type res struct {
		v   any
		err error
	}
	ch := make(chan res, 1)
	go func() { v, err := c.Recv(); ch <- res{v, err} }()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(15 * time.Second):
		t.Fatal("Recv returned nothing")
		return nil, nil
	}
}

// Assumption "debug framing": with Debug set, go-xmpp writes every read of
// the (decrypted) stream to DebugWriter as one write, "RECV " + the bytes
// read + "\n" unless they already end in a newline; and its own writes as
// "SEND " + the bytes. The tap parses exactly that (tap.go).
func TestContractDebugFraming(t *testing.T) {
	done := make(chan string, 1)
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<message from='bob@example.test/x' type='chat' id='m1'><body>one</body></message>`)
		el := p.expect("message")
		p.write(`</stream:stream>`)
		done <- attrOf(el, "id") + "|" + p.sent.String()
	})
	log := &debugLog{}
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, log))
	if _, err := recvNext(t, c); err != nil {
		t.Fatal(err)
	}
	const raw = `<message to='bob@example.test' id='raw1'><body>verbatim &amp; raw</body></message>`
	if _, err := c.SendOrg(raw); err != nil {
		t.Fatal(err)
	}
	got := <-done
	id, sent, _ := strings.Cut(got, "|")
	if id != "raw1" {
		t.Errorf("server read id %q: SendOrg did not write its argument verbatim", id)
	}
	var recv strings.Builder
	sawSend := false
	for _, w := range log.all() {
		switch {
		case strings.HasPrefix(w, "RECV "):
			if !strings.HasSuffix(w, "\n") {
				t.Errorf("RECV write without the trailing newline: %q", w)
			}
			recv.WriteString(strings.TrimSuffix(w[5:], "\n"))
		case strings.HasPrefix(w, "SEND "):
			sawSend = sawSend || strings.Contains(w, raw)
		default:
			t.Errorf("debug write without RECV/SEND prefix: %q", w)
		}
	}
	if !sawSend {
		t.Error(`SendOrg's bytes did not reach the debug writer as "SEND ..."`)
	}
	// Everything the server sent after TLS, reassembled from the chunks
	// (each lost only go-xmpp's added newline), up to what was read.
	if r := recv.String(); !strings.HasPrefix(sent, r) || !strings.Contains(r, "<body>one</body>") {
		t.Errorf("RECV chunks do not reassemble the stream:\nrecv %q\nsent %q", r, sent)
	}
}

// Assumption "debug before Recv": a stanza's bytes reach DebugWriter before
// Recv returns it, so the tap's copies (error presences, the presence
// watch) are complete when the receive loop sees the stanza.
func TestContractDebugBeforeRecv(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<presence from='room@conference.example.test/alice' id='j1' type='error'><error type='auth'>` +
			`<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Incorrect password</text></error></presence>`)
		p.next()
	})
	tp := newTap(nil)
	o := goxmppOptions(t, addr, false, tp)
	c := dialGoXMPP(t, o)
	tp.endLogin(nil)
	v, err := recvNext(t, c)
	if err != nil {
		t.Fatal(err)
	}
	pr, ok := v.(xmpp.Presence)
	if !ok {
		t.Fatalf("Recv gave %T", v)
	}
	e := tp.presenceError(pr.From, pr.ID)
	if e == nil || e.Condition != "not-authorized" || e.Text != "Incorrect password" {
		t.Errorf("the tap had not seen the presence when Recv returned it: %+v", e)
	}
}

// Assumption "features in the debug stream": the server's <stream:features>
// (SASL mechanisms, channel-binding types, caps) pass through DebugWriter
// during login, which is how pkg/conn learns what go-xmpp does not expose.
func TestContractLoginFeaturesInDebug(t *testing.T) {
	addr := startServer(t, serverConfig{mechs: []string{"SCRAM-SHA-1", "PLAIN"},
		features: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>`}, func(p *peer) { p.next() })
	tp := newTap(nil)
	dialGoXMPP(t, goxmppOptions(t, addr, false, tp))
	mechs, _ := tp.offered()
	if strings.Join(mechs, " ") != "SCRAM-SHA-1 PLAIN" {
		t.Errorf("mechanisms seen in the debug stream: %q", mechs)
	}
	feats := tp.streamFeatures()
	if len(feats) != 2 || !strings.Contains(string(feats[1]), "protocol/caps") {
		t.Errorf("stream features seen: %q", feats)
	}
}

// Assumption "conn field": *xmpp.Client has an unexported field "conn" of
// type net.Conn holding a *tls.Conn over the *net.TCPConn (direct TLS and
// STARTTLS); sockOf finds it by reflection to push ACKs (quickack.go).
func TestContractConnField(t *testing.T) {
	for _, starttls := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct TLS", true: "STARTTLS"}[starttls], func(t *testing.T) {
			addr := startServer(t, serverConfig{startTLS: starttls}, func(p *peer) { p.next() })
			c := dialGoXMPP(t, goxmppOptions(t, addr, starttls, nil))
			sock := sockOf(c)
			if sock == nil || sock.RemoteAddr().String() != addr {
				t.Fatalf("sockOf found %v, want the TCP socket to %s", sock, addr)
			}
		})
	}
}

// Assumption "login socket in /proc": go-xmpp dials the server from this
// process with a plain TCP socket (no proxy configured), opened by the
// time of the first debug write, so the login finds it as the one new
// socket in /proc/self/fd connected to the server's port (quickack_linux.go).
func TestContractLoginSocketInProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the login socket is looked up in /proc on Linux only")
	}
	for _, starttls := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct TLS", true: "STARTTLS"}[starttls], func(t *testing.T) {
			addr := startServer(t, serverConfig{startTLS: starttls}, func(p *peer) { p.next() })
			_, port, _ := net.SplitHostPort(addr)
			n, _ := strconv.Atoi(port)
			tp := newTap(nil)
			tp.expectSocket(n)
			dialGoXMPP(t, goxmppOptions(t, addr, starttls, tp))
			tp.endLogin(nil)
			if !tp.loginAck {
				t.Error("no single new socket to the server's port was found at the first debug write")
			}
		})
	}
}

// Assumption "unknown elements": Recv returns an error
// "unexpected XMPP message <ns> <local/>" for a top-level element it has
// no type for (the XEP-0198 nonzas), having consumed only its start tag;
// the stream stays usable (recv.go, unknownElement).
func TestContractRecvUnknownElement(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<enabled xmlns='urn:xmpp:sm:3' id='sm1' resume='true'/><r xmlns='urn:xmpp:sm:3'/>` +
			`<a xmlns='urn:xmpp:sm:3' h='3'/><failed xmlns='urn:xmpp:sm:3'/>` +
			`<message from='bob@example.test/x' id='after'><body>still here</body></message>`)
		p.next()
	})
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	for _, want := range []string{"<enabled/>", "<r/>", "<a/>", "<failed/>"} {
		_, err := recvNext(t, c)
		el, ok := unknownElementOf(err)
		if !ok || el != stanza.NSSM+" "+want {
			t.Fatalf("Recv error %v: unknownElement gives %q, want %q", err, el, stanza.NSSM+" "+want)
		}
	}
	v, err := recvNext(t, c)
	if ch, ok := v.(xmpp.Chat); err != nil || !ok || ch.ID != "after" || ch.Text != "still here" {
		t.Fatalf("after the nonzas: %#v, %v; the stream did not survive", v, err)
	}
}

func unknownElementOf(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	return unknownElement(err)
}

// Assumption "stream error string": a <stream:error/> ends Recv with an
// error whose text starts with "stream error" (recv.go, fail).
func TestContractRecvStreamError(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>` +
			`<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text></stream:error></stream:stream>`)
	})
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	_, err := recvNext(t, c)
	if err == nil || !strings.HasPrefix(err.Error(), "stream error") || !strings.Contains(err.Error(), "Replaced") {
		t.Fatalf("Recv after a stream error: %v", err)
	}
}

// Assumption "lost avatar stanza": an XEP-0084 metadata event without
// items makes Recv fail with "no avatar metadata items available" after
// reading the whole stanza (a typed empty value with the error);
// lostStanza() skips it and the stream goes on.
func TestContractRecvEmptyAvatarEvent(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<message from='bob@example.test' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'>` +
			`<items node='urn:xmpp:avatar:metadata'/></event></message>` +
			`<message from='bob@example.test/x' id='after'><body>next</body></message>`)
		p.next()
	})
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	lost, err := recvNext(t, c)
	if err == nil || !lostStanza(lost, err) {
		t.Fatalf("Recv of an empty avatar event: %#v, %v, want a stanza lostStanza() skips", lost, err)
	}
	v, err := recvNext(t, c)
	if ch, ok := v.(xmpp.Chat); err != nil || !ok || ch.ID != "after" {
		t.Fatalf("after it: %#v, %v", v, err)
	}
}

// Assumption "Chat shape": a message arrives as xmpp.Chat with its
// attributes and known children in fields, every other child in OtherElem
// (name, attributes, inner XML) including <error/>; "to" is dropped.
func TestContractChatShape(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<message from='bob@example.test/x' to='` + contractJID + `' type='chat' id='m1' xml:lang='de'>` +
			`<subject>s</subject><body>b &amp; c</body><thread>t1</thread>` +
			`<origin-id xmlns='urn:xmpp:sid:0' id='o1'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='alice@example.test'/>` +
			`<x xmlns='jabber:x:oob'><url>https://h.test/f</url></x><delay xmlns='urn:xmpp:delay' stamp='2026-01-02T03:04:05Z'/>` +
			`<thing xmlns='urn:example:ext' a='1'><in>x</in></thing></message>` +
			`<message from='bob@example.test' type='error' id='m2'><error type='cancel'>` +
			`<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
		p.next()
	})
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	v, err := recvNext(t, c)
	ch, ok := v.(xmpp.Chat)
	if err != nil || !ok {
		t.Fatalf("Recv: %#v %v", v, err)
	}
	if ch.Remote != "bob@example.test/x" || ch.Type != "chat" || ch.ID != "m1" || ch.Lang != "de" || ch.Subject != "s" ||
		ch.Text != "b & c" || ch.Thread != "t1" || ch.OriginID != "o1" || ch.StanzaID.ID != "s1" ||
		ch.StanzaID.By != "alice@example.test" || ch.Oob.Url != "https://h.test/f" || ch.Stamp.IsZero() {
		t.Errorf("Chat fields: %+v", ch)
	}
	var ext *xmpp.XMLElement
	for i, o := range ch.OtherElem {
		if o.XMLName == (xml.Name{Space: "urn:example:ext", Local: "thing"}) {
			ext = &ch.OtherElem[i]
		}
	}
	// Attr holds the xmlns declaration too; convertChat passes it along.
	if ext == nil || attrOf(stanza.Element{Attrs: ext.Attr}, "a") != "1" || ext.InnerXML != "<in>x</in>" {
		t.Errorf("unknown child in OtherElem: %+v (all: %+v)", ext, ch.OtherElem)
	}
	m := convertChat(ch, contractJID)
	if m.To != contractJID || m.Body != "b & c" {
		t.Errorf("converted: %+v", m)
	}
	v, err = recvNext(t, c)
	ch, ok = v.(xmpp.Chat)
	if err != nil || !ok {
		t.Fatalf("Recv: %#v %v", v, err)
	}
	if m := convertChat(ch, contractJID); m.Error == nil || m.Error.Condition != "service-unavailable" {
		t.Errorf("message error not found in OtherElem: %+v", ch.OtherElem)
	}
}

// Assumption "IQ shape": an IQ request or a result with a payload arrives as
// xmpp.IQ whose Query is the payload re-marshalled by encoding/xml; an
// empty result's Query is an empty <XMLElement>; an error's condition,
// type and text are in IQ.Error (convert.go, convertIQ).
func TestContractIQShape(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<iq from='bob@example.test/x' type='set' id='q1'><open xmlns='http://jabber.org/protocol/ibb' sid='s' block-size='4096'/></iq>` +
			`<iq from='bob@example.test/x' type='set' id='q2'><data xmlns='http://jabber.org/protocol/ibb' sid='s' seq='0'>aGVsbG8=</data></iq>` +
			`<iq from='example.test' type='result' id='q3'/>` +
			`<iq from='example.test' type='error' id='q4'><query xmlns='urn:example:q'/><error type='cancel'>` +
			`<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>gone</text></error></iq>`)
		p.next()
	})
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	var got []*stanza.IQ
	for range 4 {
		v, err := recvNext(t, c)
		q, ok := v.(xmpp.IQ)
		if err != nil || !ok {
			t.Fatalf("Recv: %#v %v", v, err)
		}
		got = append(got, convertIQ(q))
	}
	// The re-marshalled payload repeats its xmlns among the attributes.
	if q := got[0].Query; q.XMLName != (xml.Name{Space: "http://jabber.org/protocol/ibb", Local: "open"}) ||
		attrOf(q, "sid") != "s" || attrOf(q, "block-size") != "4096" {
		t.Errorf("request payload: %+v", q)
	}
	if q := got[1].Query; q.XMLName.Local != "data" || string(q.Inner) != "aGVsbG8=" {
		t.Errorf("data payload: %+v", q)
	}
	if got[2].Type != "result" || got[2].Query.XMLName.Local != "" {
		t.Errorf("empty result: %+v", got[2])
	}
	if e := got[3].Error; e == nil || e.Condition != "item-not-found" || e.Type != "cancel" || e.Text != "gone" {
		t.Errorf("IQ error: %+v", got[3].Error)
	}
}

// Assumption "disco and upload shapes": disco#info results arrive as
// DiscoResult, disco#items as DiscoItems (from in Jid), XEP-0363 slots as
// Slot with header values as raw inner XML (convert.go).
func TestContractDiscoAndSlotShapes(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<iq from='example.test' type='result' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'>` +
			`<identity category='server' type='im' name='S'/><feature var='urn:xmpp:ping'/>` +
			`<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:x</value></field></x></query></iq>` +
			`<iq from='example.test' type='result' id='d2'><query xmlns='http://jabber.org/protocol/disco#items'>` +
			`<item jid='upload.example.test' name='U'/></query></iq>` +
			`<iq from='upload.example.test' type='result' id='d3'><slot xmlns='urn:xmpp:http:upload:0'>` +
			`<put url='https://h.test/p'><header name='Authorization'>Bearer a&amp;b</header></put><get url='https://h.test/g'/></slot></iq>`)
		p.next()
	})
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	var got []stanza.Stanza
	for range 3 {
		v, err := recvNext(t, c)
		if err != nil {
			t.Fatal(err)
		}
		switch v.(type) {
		case xmpp.DiscoResult, xmpp.DiscoItems, xmpp.Slot:
		default:
			t.Fatalf("Recv gave %T, want DiscoResult, DiscoItems or Slot", v)
		}
		got = append(got, convert(v, contractJID))
	}
	info := got[0].(*stanza.IQ).Query
	if !strings.Contains(string(info.Inner), `<identity category="server" type="im" name="S">`) ||
		!strings.Contains(string(info.Inner), `<feature var="urn:xmpp:ping">`) || !strings.Contains(string(info.Inner), "urn:x") {
		t.Errorf("disco#info: %s", info.Inner)
	}
	items := got[1].(*stanza.IQ)
	if items.From != contractDomain || !strings.Contains(string(items.Query.Inner), "upload.example.test") {
		t.Errorf("disco#items: %+v %s", items, items.Query.Inner)
	}
	slot := got[2].(*stanza.IQ).Query
	if !strings.Contains(string(slot.Inner), `<header name="Authorization">Bearer a&amp;b</header>`) {
		t.Errorf("slot: %s", slot.Inner)
	}
}

// Assumption "Presence shape": MUC items are flattened into Affiliation,
// Role and JID; other children (caps) are dropped; Error is the local name
// of the LAST child of <error/>, i.e. "text" when a text follows the
// condition, which the tap repairs (presenceerr.go).
func TestContractPresenceShape(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {
		p.write(`<presence from='room@conference.example.test/bob' id='p1'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>` +
			`<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='bob@example.test/x'/></x></presence>` +
			`<presence from='room@conference.example.test/alice' id='p2' type='error'><error type='auth'>` +
			`<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Incorrect password</text></error></presence>`)
		p.next()
	})
	c := dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	v, err := recvNext(t, c)
	pr, ok := v.(xmpp.Presence)
	if err != nil || !ok || pr.Affiliation != "member" || pr.Role != "participant" || pr.JID != "bob@example.test/x" {
		t.Fatalf("MUC presence: %#v %v", v, err)
	}
	v, err = recvNext(t, c)
	pr, ok = v.(xmpp.Presence)
	if err != nil || !ok || pr.Type != "error" {
		t.Fatalf("error presence: %#v %v", v, err)
	}
	if pr.Error != "text" && pr.Error != "not-authorized" {
		t.Errorf("Presence.Error %q: neither the last child (the known garble) nor the condition", pr.Error)
	}
	if pr.Error == "not-authorized" {
		t.Log("go-xmpp now keeps the condition: presenceerr.go's repair may be dropped")
	}
}

// Assumption "ping and version answered inside Recv": go-xmpp answers an
// XEP-0199 ping with a result and an XEP-0092 version query itself (with
// Options' name and version when ReportSoftwareVersion, else
// service-unavailable) and does not return either from Recv.
func TestContractAnswersPingAndVersion(t *testing.T) {
	for _, report := range []bool{true, false} {
		t.Run(map[bool]string{true: "report version", false: "no version"}[report], func(t *testing.T) {
			answers := make(chan []stanza.Element, 1)
			addr := startServer(t, serverConfig{}, func(p *peer) {
				p.write(`<iq from='example.test' type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>`)
				a1, _ := p.next()
				p.write(`<iq from='bob@example.test/x' type='get' id='ver1'><query xmlns='jabber:iq:version'/></iq>`)
				a2, _ := p.next()
				p.write(`<message from='bob@example.test/x' id='after'><body>x</body></message>`)
				answers <- []stanza.Element{a1, a2}
				p.next()
			})
			o := goxmppOptions(t, addr, false, nil)
			if report {
				o.ReportSoftwareVersion, o.SoftwareName, o.SoftwareVersion = true, "xmppctl", "9.9"
			}
			c := dialGoXMPP(t, o)
			v, err := recvNext(t, c)
			if ch, ok := v.(xmpp.Chat); err != nil || !ok || ch.ID != "after" {
				t.Fatalf("Recv returned %#v, %v before the message: ping or version reached the caller", v, err)
			}
			a := <-answers
			if attrOf(a[0], "id") != "ping1" || attrOf(a[0], "type") != "result" {
				t.Errorf("ping answer: %+v", a[0])
			}
			inner := string(a[1].Inner)
			if attrOf(a[1], "id") != "ver1" {
				t.Errorf("version answer: %+v", a[1])
			}
			if report && (attrOf(a[1], "type") != "result" || !strings.Contains(inner, "xmppctl") || !strings.Contains(inner, "9.9")) {
				t.Errorf("version answer with ReportSoftwareVersion: %s %s", attrOf(a[1], "type"), inner)
			}
			if !report && (attrOf(a[1], "type") != "error" || !strings.Contains(inner, "service-unavailable")) {
				t.Errorf("version answer without: %s %s", attrOf(a[1], "type"), inner)
			}
		})
	}
}

// Assumption "forced initial presence": right after binding, go-xmpp sends
// an available presence on its own (no option skips it); Options.Unavailable
// withdraws it.
func TestContractInitialPresence(t *testing.T) {
	got := make(chan stanza.Element, 1)
	addr := startServer(t, serverConfig{}, func(p *peer) { got <- p.presence; p.next() })
	dialGoXMPP(t, goxmppOptions(t, addr, false, nil))
	pres := <-got
	if pres.XMLName.Local != "presence" || attrOf(pres, "type") != "" {
		t.Fatalf("first stanza after bind: %+v, want an available presence", pres)
	}
}

// Assumption "Mechanism and JID": after a SCRAM login Client.Mechanism
// names the mechanism (login.go remembers it per server); JID() is the
// JID the server bound.
func TestContractMechanismAndJID(t *testing.T) {
	addr := startServer(t, serverConfig{mechs: []string{"SCRAM-SHA-1", "PLAIN"}}, func(p *peer) { p.next() })
	o := goxmppOptions(t, addr, false, nil)
	o.Mechanism = ""
	c := dialGoXMPP(t, o)
	if c.Mechanism != "SCRAM-SHA-1" || c.JID() != contractJID {
		t.Errorf("Mechanism %q, JID %q", c.Mechanism, c.JID())
	}
}

// Assumption "auth failure string": a SASL <failure/> ends NewClient with
// an error starting "auth failure" (login.go, classify → AuthError).
func TestContractAuthFailure(t *testing.T) {
	addr := startServer(t, serverConfig{}, func(p *peer) {})
	o := goxmppOptions(t, addr, false, nil)
	o.Password = "wrong"
	_, err := o.NewClient()
	if err == nil || !strings.HasPrefix(err.Error(), "auth failure") {
		t.Fatalf("login with a wrong password: %v", err)
	}
	var ae *AuthError
	if ce := classify(addr, err); !asAuthError(ce, &ae) || mechanismProblem(err) {
		t.Errorf("classified as %v", ce)
	}
}

func asAuthError(err error, ae **AuthError) bool {
	a, ok := err.(*AuthError)
	*ae = a
	return ok
}

// Assumption "Close": Client.Close writes </stream:stream>, then reads the
// stream itself until the server's closing tag or EOF (so it must not run
// while another goroutine is in Recv; session.Close calls it after the
// receive loop ended) and closes the socket.
func TestContractClose(t *testing.T) {
	closed := make(chan bool, 1)
	addr := startServer(t, serverConfig{}, func(p *peer) {
		_, ok := p.next() // returns false at </stream:stream>
		p.write(`</stream:stream>`)
		var b [1]byte
		_ = p.raw.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := p.conn.Read(b[:])
		closed <- !ok && err != nil
	})
	c, err := goxmppOptions(t, addr, false, nil).NewClient()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not return after the server closed its stream")
	}
	if !<-closed {
		t.Error("the server did not see </stream:stream> and then the socket closed")
	}
}

// The whole of pkg/conn against the scripted server: Dial (mechanism
// ladder, tap, sockOf, login socket), a round trip, Close.
func TestContractDialSession(t *testing.T) {
	addr := startServer(t, serverConfig{}, answerGets)
	s, err := Dial(contractCtx(t), Options{JID: contractUser + "@" + contractDomain, Password: contractPass, Server: addr,
		TLSMode: "direct", TLS: TLSPolicy{CAFile: caFile(t)}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.JID() != contractJID || SocketOf(s) == nil {
		t.Errorf("JID %q, socket %v", s.JID(), SocketOf(s))
	}
	if runtime.GOOS == "linux" && !LoginSocketFound(s) {
		t.Error("login did not find its socket")
	}
	if err := s.Flush(contractCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil || s.Err() != nil {
		t.Errorf("close: %v, %v", err, s.Err())
	}
}

// answerGets is a scripted session after login: every IQ get (a ping, a
// Flush) gets an empty result, until the client ends the stream.
func answerGets(p *peer) {
	for {
		el, ok := p.next()
		if !ok {
			p.write(`</stream:stream>`)
			return
		}
		if el.XMLName.Local == "iq" && attrOf(el, "type") == "get" {
			p.write(`<iq type='result' id='` + attrOf(el, "id") + `' from='` + contractDomain + `'/>`)
		}
	}
}
