package archive

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/store"
)

func TestMarkDisplayed(t *testing.T) {
	if _, err := DisplayedMarker(&store.Message{With: "bob@example.org"}); !errors.Is(err, ErrNoID) {
		t.Errorf("a message without id: %v", err)
	}
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := xmpptest.New()
	self := Self{Account: "user@example.org"}
	m := &store.Message{Account: self.Account, Archive: self.Account, MsgID: "m<1>", From: "bob@example.org/x",
		To: "user@example.org", With: "bob@example.org", Direction: store.In, Type: "chat", Body: "hi", StanzaID: "s1", Time: time.Now().UTC().Add(-time.Minute)}
	if err := st.Update(context.Background(), func(b *store.Batch) error { _, err := b.Put(m); return err }); err != nil {
		t.Fatal(err)
	}
	mk, err := MarkDisplayed(context.Background(), s, st, self, m)
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	if len(sent) != 1 || s.Flushes() != 1 {
		t.Fatalf("sent %q after %d flushes", sent, s.Flushes())
	}
	b, _ := xml.Marshal(mk)
	for _, want := range []string{`to="bob@example.org"`, `type="chat"`,
		`<displayed xmlns="urn:xmpp:chat-markers:0" id="m&lt;1&gt;"></displayed>`, `<origin-id xmlns="urn:xmpp:sid:0" id=`,
		`<store xmlns="urn:xmpp:hints"></store>`} {
		if !strings.Contains(sent[0], want) || !strings.Contains(string(b), want) {
			t.Errorf("marker %s lacks %s", sent[0], want)
		}
	}
	unread, err := st.Unread(context.Background(), self.Account)
	if err != nil || len(unread) != 0 {
		t.Errorf("after MarkDisplayed: %+v %v", unread, err)
	}
}
