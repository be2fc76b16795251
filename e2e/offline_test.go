package e2e

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// go-xmpp always sends an initial presence after login, which makes the
// server hand the account's offline messages to xmppctl's session (see the
// note on issue 2). This test pins down what still holds: such a message
// stays in the account's archive (MAM), so no modern client loses it.
func TestSendKeepsOfflineMessageInArchive(t *testing.T) {
	alice, carol := srv.NewUser(t, "alice"), srv.NewUser(t, "carol")
	c := srv.Dial(t, carol)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Send(ctx, stanza.Message{To: srv.JID(alice), Type: stanza.ChatMessage, Body: "while you were away"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res := xmppctl(t, alice, "", "send", "-m", "cron ping", srv.JID(carol))
	mustOK(t, res)
	// The user is told that the waiting message was delivered here.
	if !strings.Contains(res.Stderr, "warning: 1 offline message(s) waiting for "+srv.JID(alice)) {
		t.Errorf("send did not report the flushed offline message; stderr:\n%s", res.Stderr)
	}
	// Nothing waits any more, so the next run says nothing.
	if res := xmppctl(t, alice, "", "send", "-m", "cron ping 2", srv.JID(carol)); res.Code != 0 || res.Stderr != "" {
		t.Errorf("second send: exit %d, stderr %q", res.Code, res.Stderr)
	}

	a := srv.Dial(t, alice)
	sub := a.Subscribe()
	defer sub.Close()
	type field struct {
		Var   string `xml:"var,attr"`
		Value string `xml:"value"`
	}
	type query struct {
		XMLName xml.Name `xml:"urn:xmpp:mam:2 query"`
		Form    struct {
			XMLName xml.Name `xml:"jabber:x:data x"`
			Type    string   `xml:"type,attr"`
			Fields  []field  `xml:"field"`
		}
	}
	q := query{}
	q.Form.Type = "submit"
	q.Form.Fields = []field{{"FORM_TYPE", "urn:xmpp:mam:2"}, {"with", srv.JID(carol)}}
	if _, err := a.SendIQ(ctx, stanza.IQ{Type: "set", Payload: q}); err != nil {
		t.Fatal(err)
	}
	found := false
	for {
		st, ok := sub.Poll()
		if !ok {
			break
		}
		if m, ok := st.(*stanza.Message); ok {
			if r, ok := stanza.Find(m.Ext, "urn:xmpp:mam:2", "result"); ok && strings.Contains(string(r.Inner), "while you were away") {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("the offline message is not in alice's archive any more")
	}
}
