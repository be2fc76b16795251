package jingle

import (
	"context"
	"encoding/xml"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
)

// rawMessage is a message whose children are given as XML.
type rawMessage struct {
	XMLName xml.Name `xml:"jabber:client message"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr,omitempty"`
	ID      string   `xml:"id,attr"`
	Inner   string   `xml:",innerxml"`
}

// TestReceiveSurvivesHostileStanzas (issue 14 defect 2): a stranger's
// avatar notifications that go-xmpp fails to parse reach a waiting
// jingle-receive; it still receives the next file.
func TestReceiveSurvivesHostileStanzas(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob, mallory := srv.NewUser(t, "jsa"), srv.NewUser(t, "jsb"), srv.NewUser(t, "jsm")
	dir := t.TempDir()
	recv := start(t, bob, "--json", "jingle-receive", "--dir", dir, "--from", srv.JID(alice),
		"--count", "1", "--auto-accept", "--candidate-addr", loop)
	bobJID := recv.ready(t)

	ms := srv.Dial(t, mallory)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, typ := range []string{"headline", "chat", "normal"} {
		for _, inner := range []string{
			`<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'/></items></event>`,
			`<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'><data xmlns='urn:xmpp:avatar:data'>AAAA</data></item></items></event>`,
			`<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:avatar:metadata'><item id='x'>text</item></items></event>`,
		} {
			if err := ms.Send(ctx, rawMessage{To: bobJID, Type: typ, ID: conn.NewID(), Inner: inner}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := ms.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	file, sum := randomFile(t, "after.bin", 100_000)
	send := run(t, alice, "jingle-send", "--candidate-addr", loop, "--proxy", "none", file, bobJID)
	if send.code != 0 {
		t.Fatalf("jingle-send exit %d; stderr:\n%s\nreceiver stderr:\n%s", send.code, send.stderr.String(), recv.stderr.String())
	}
	recv.wait(t, time.Minute)
	if recv.code != 0 {
		t.Fatalf("jingle-receive exit %d; stderr:\n%s", recv.code, recv.stderr.String())
	}
	if got := fileSum(t, dir+"/after.bin"); got != sum {
		t.Error("received file differs")
	}
}
