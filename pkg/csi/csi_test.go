package csi

import (
	"context"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
)

func TestNonzas(t *testing.T) {
	s := xmpptest.New()
	if err := Inactive(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := Active(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	want := []string{`<inactive xmlns="urn:xmpp:csi:0"></inactive>`, `<active xmlns="urn:xmpp:csi:0"></active>`}
	if len(sent) != 2 || sent[0] != want[0] || sent[1] != want[1] {
		t.Errorf("sent %q, want %q", sent, want)
	}
}
