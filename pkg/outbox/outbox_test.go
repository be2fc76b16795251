package outbox

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/receipts"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestBuildGolden(t *testing.T) {
	m := Build("id1", "bob@example.org", Content{Type: stanza.ChatMessage, Subject: "s", Body: "hi <b>&\x00", OOB: "https://x/y?a=1&b=2"}, true)
	got, err := xml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := "testdata/message.xml"
	if *update {
		_ = os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	g := Build("id2", "room@muc", Content{Type: stanza.GroupChatMessage, Body: "x"}, true)
	if b, _ := xml.Marshal(g); strings.Contains(string(b), "request") {
		t.Errorf("groupchat must not request receipts: %s", b)
	}
}

func TestFinishStatuses(t *testing.T) {
	s := xmpptest.New()
	s.OnSend = func(v any) []stanza.Stanza {
		m, ok := v.(*stanza.Message) // the outbox sends by pointer
		if !ok {
			return nil
		}
		switch m.To {
		case "gone@example.org":
			return []stanza.Stanza{&stanza.Message{ID: m.ID, From: m.To, Type: stanza.ErrorMessage,
				Error: &stanza.Error{Type: "cancel", Condition: "service-unavailable"}}}
		case "bob@example.org":
			return []stanza.Stanza{&stanza.Message{From: "bob@example.org/phone",
				Ext: []stanza.Element{{XMLName: xml.Name{Space: receipts.NS, Local: "received"},
					Attrs: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: m.ID}}}}}}
		case "mallory@example.org":
			// A receipt from someone else must not count.
			return []stanza.Stanza{&stanza.Message{From: "eve@example.org/x",
				Ext: []stanza.Element{{XMLName: xml.Name{Space: receipts.NS, Local: "received"},
					Attrs: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: m.ID}}}}}}
		}
		return nil
	}
	ob := New(s, true)
	ctx := context.Background()
	for _, to := range []string{"bob@example.org", "gone@example.org", "mallory@example.org"} {
		if _, err := ob.Send(ctx, to, Content{Type: stanza.ChatMessage, Body: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ob.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	// Finish has applied the receipts that came: no wait is needed to see
	// that mallory's is missing, so the receipt wait is over at once.
	rctx, cancel := context.WithCancel(ctx)
	cancel()
	res, err := ob.WaitReceipts(rctx)
	var rt *ReceiptTimeout
	if !errors.As(err, &rt) || len(rt.Missing) != 1 || rt.Missing[0] != "mallory@example.org" {
		t.Fatalf("err = %v", err)
	}
	want := map[string]string{"bob@example.org": "delivered", "gone@example.org": "failed", "mallory@example.org": "sent"}
	for _, r := range res {
		if r.Status != want[r.To] {
			t.Errorf("%s: status %s, want %s", r.To, r.Status, want[r.To])
		}
	}
	if s.Flushes() != 1 {
		t.Errorf("flushes = %d, want 1", s.Flushes())
	}
}

// Seal: a recipient whose message cannot be sealed fails alone and gets
// nothing (never the plaintext); the others get the sealed form, while the
// result keeps the plaintext for the local archive.
func TestSeal(t *testing.T) {
	s := xmpptest.New()
	ob := New(s, false)
	ob.Encryption = "urn:test:e2e"
	ob.Seal = func(_ context.Context, to string, m *stanza.Message) error {
		if to == "plain@example.org" {
			return errors.New("no trusted device")
		}
		m.Body = "sealed"
		return nil
	}
	ctx := context.Background()
	for _, to := range []string{"plain@example.org", "ok@example.org"} {
		if _, err := ob.Send(ctx, to, Content{Type: stanza.ChatMessage, Body: "secret"}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ob.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := strings.Join(s.Sent(), "\n")
	if strings.Contains(sent, "secret") || strings.Contains(sent, "plain@example.org") || !strings.Contains(sent, "sealed") {
		t.Fatalf("sent:\n%s", sent)
	}
	if res[0].Status != "failed" || res[1].Status != "sent" || res[1].Encrypted != "urn:test:e2e" || res[1].Message.Body != "secret" {
		t.Fatalf("results %+v", res)
	}
}

// Results settled in one batch are reused for the next messages: what
// OnSettled received must stay what was sent, message by message.
func TestSettledResultsReused(t *testing.T) {
	s := xmpptest.New()
	o := New(s, false)
	o.BatchSize = 200
	got := map[string]Result{}
	o.OnSettled = func(r Result) { got[r.ID] = r }
	ctx := context.Background()
	sent := map[string]string{}
	for i := range 450 {
		body := fmt.Sprintf("line %04d", i)
		id, err := o.Send(ctx, fmt.Sprintf("u%d@example.org", i%7), Content{Type: stanza.ChatMessage, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		sent[id] = body
	}
	if _, err := o.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sent) {
		t.Fatalf("%d results settled, want %d", len(got), len(sent))
	}
	for id, body := range sent {
		r := got[id]
		if r.ID != id || r.Message.ID != id || r.Message.Body != body || r.Status != StatusSent {
			t.Fatalf("result for %s: %+v, want body %q, sent", id, r, body)
		}
	}
	if len(o.free) == 0 {
		t.Error("no result was freed for reuse")
	}
}
