package blocking

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestListBlockUnblock(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	if ok, err := Supported(ctx, s); !ok || err != nil {
		t.Fatalf("Supported = %v %v", ok, err)
	}
	if err := Block(ctx, s, "a@x", "x.example", "b@y/r"); err != nil {
		t.Fatal(err)
	}
	if err := Unblock(ctx, s, "x.example"); err != nil {
		t.Fatal(err)
	}
	l, err := List(ctx, s)
	if err != nil || !slices.Equal(l, []string{"a@x", "b@y/r"}) {
		t.Fatalf("List = %q %v", l, err)
	}
	if err := UnblockAll(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := []string{"block a@x x.example b@y/r", "unblock x.example", "blocklist ", "unblock "}
	if got := srv.Requests(); !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
	if Block(ctx, s) == nil || Unblock(ctx, s) == nil {
		t.Fatal("empty block/unblock accepted (an empty unblock would clear the list)")
	}
	srv.ServerFeatures = nil
	if ok, _ := Supported(ctx, s); ok {
		t.Fatal("Supported without the feature")
	}
}

func TestHandlePushes(t *testing.T) {
	s := xmpptest.New()
	HandlePushes(s)
	h := s.Handler(NS, "block")
	for from, ok := range map[string]bool{"": true, "user@example.org": true, "example.org": true, "evil@example.net": false} {
		_, err := h(context.Background(), &stanza.IQ{Type: "set", From: from})
		var se *stanza.Error
		if (err == nil) != ok || (!ok && !errors.As(err, &se)) {
			t.Errorf("push from %q: %v", from, err)
		}
	}
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte(`<item jid="a@b"/><item jid=""/><item/>`))
	f.Add([]byte(`<item jid="&lt;x"/>`))
	f.Fuzz(func(t *testing.T, inner []byte) {
		el := stanza.Element{XMLName: xml.Name{Space: NS, Local: "blocklist"}, Inner: inner}
		l, err := ParseList(el)
		if err == nil && slices.Contains(l, "") {
			t.Fatal("empty JID listed")
		}
	})
}
