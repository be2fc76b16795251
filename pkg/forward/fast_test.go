package forward

import (
	"bytes"
	"reflect"
	"testing"
)

// Servers' shapes of <forwarded/> (the content of an archive result or a
// carbon) and the corner cases of the fast path's subset.
var fastSeeds = []string{
	// Prosody 0.12, archive result (captured from the test server).
	`<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-28T12:56:04Z'/><message xmlns='jabber:client' id='823d' xml:lang='en' to='alice@localhost' from='bob@localhost/res' type='chat'><body>hello *alice* 1</body><origin-id xmlns='urn:xmpp:sid:0' id='823d'/></message></forwarded>`,
	// ejabberd style: double quotes, stanza-id, markable, escaped text.
	`<forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" from="localhost" stamp="2024-01-01T00:00:00.123456Z"/><message xmlns="jabber:client" xml:lang="en" to="a@x" from="b@x/r" type="chat" id="i1"><archived by="a@x" xmlns="urn:xmpp:mam:tmp" id="1"/><stanza-id by="a@x" xmlns="urn:xmpp:sid:0" id="1"/><markable xmlns="urn:xmpp:chat-markers:0"/><body>don&apos;t &lt;b&gt; &amp; &quot;q&quot;</body></message></forwarded>`,
	// Several bodies, a subject, a thread, nested extension content.
	`<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='groupchat' from='r@muc/nick'><subject>topic</subject><body xml:lang='de'>hallo</body><body>hello</body><thread parent='p'>t1</thread><x xmlns='http://jabber.org/protocol/muc#user'><item jid='b@x/r' affiliation='member'><reason>a &amp; b</reason></item></x><x xmlns='jabber:x:oob'><url>https://example.org/a?b=1&amp;c=2</url></x></message></forwarded>`,
	// An error message, an empty message, a message without namespace.
	`<forwarded xmlns='urn:xmpp:forward:0'><message type='error' id='e'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message/></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message xmlns=''><body/><x xmlns=''/></message></forwarded>`,
	// What the fast path leaves to encoding/xml.
	`<forwarded xmlns='urn:xmpp:forward:0'><message><body><![CDATA[<b>]]></body></message></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message><body>&#65;&#x42;</body><!-- c --></message></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message xmlns:c='jabber:client'><c:body>x</c:body></message></forwarded>`,
	"<forwarded xmlns='urn:xmpp:forward:0'>\n <message>\r\n<body>a\r\nb</body></message>\n</forwarded>",
	`<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='a'/><delay xmlns='urn:xmpp:delay' stamp='b'/><message/></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><delay stamp='2024-01-01T00:00:00Z'/><message><body>x</body></message></forwarded><extra/>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message id='a' id='b' foo:id='c'><body>x</body></message></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message><body>x</bodyy></message></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message><x><y><z>deep</z></y></x></message></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message><x><y></x></y></message></forwarded>`,
	`<forwarded xmlns='urn:xmpp:forward:0'><message><body>a &unknown; b</body></message></forwarded>`,
	"<forwarded xmlns='urn:xmpp:forward:0'><message><body>\x01</body></message></forwarded>",
	"<forwarded xmlns='urn:xmpp:forward:0'><message><body>\xff</body></message></forwarded>",
	`<forwarded xmlns='urn:xmpp:forward:0'><message><body>]]&gt;</body><x a=']]>'/></message></forwarded>`,
	`<message/>`,
	``,
}

// The fast path gives exactly what encoding/xml gives, for every input it
// accepts; and it accepts the servers' shapes.
func TestFastMatchesEncodingXML(t *testing.T) {
	for i, s := range fastSeeds {
		checkFast(t, []byte(s))
		if _, ok := fastXML([]byte(s)); i < 6 && !ok {
			t.Errorf("seed %d not taken by the fast path: %s", i, s)
		}
	}
}

func FuzzFastMatchesEncodingXML(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFast(t, []byte(s)) })
}

func checkFast(t *testing.T, in []byte) {
	t.Helper()
	fast, ok := fastXML(in)
	if !ok {
		return
	}
	slow, err := decodeXML(in)
	if err != nil {
		t.Fatalf("fast path took what encoding/xml rejects (%v): %q", err, in)
	}
	normalize(fast)
	normalize(slow)
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast path differs for %q:\nfast %#v\nslow %#v\nfast msg %#v\nslow msg %#v", in, fast, slow, fast.Message, slow.Message)
	}
	ff, ferr := fast.Parse()
	sf, serr := slow.Parse()
	if (ferr == nil) != (serr == nil) || ferr == nil && !reflect.DeepEqual(ff, sf) {
		t.Fatalf("Parse differs for %q: %v / %v", in, ferr, serr)
	}
}

// normalize makes the fast path's Inner a copy, so that DeepEqual
// compares contents and not the buffer they alias.
func normalize(w *XML) {
	if w.Message == nil {
		return
	}
	for i := range w.Message.Ext {
		w.Message.Ext[i].Inner = bytes.Clone(w.Message.Ext[i].Inner)
	}
}

// validText (content being skipped) takes exactly what unescape takes.
func FuzzValidTextMatchesUnescape(f *testing.F) {
	for _, s := range []string{"", "plain", "a &amp; b", "&lt;&gt;&apos;&quot;", "&", "&;", "&amp", "&#65;", "x &unknown; y", "&amp;&amp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, ok := unescape([]byte(s)); ok != validText([]byte(s)) {
			t.Fatalf("%q: unescape ok %v, validText %v", s, ok, validText([]byte(s)))
		}
	})
}
