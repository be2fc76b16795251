package nick

import (
	"context"
	"errors"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
)

func TestPublishGet(t *testing.T) {
	s, srv := peptest.NewSession()
	ctx := context.Background()
	if _, err := Get(ctx, s, ""); !errors.Is(err, ErrNone) {
		t.Fatalf("no node: %v", err)
	}
	if err := Publish(ctx, s, "  ", pep.Options{}); err == nil {
		t.Fatal("blank nick accepted")
	}
	if err := Publish(ctx, s, "Al <&> ice\x00", pep.Options{Access: pep.Open}); err != nil {
		t.Fatal(err)
	}
	if got, err := Get(ctx, s, ""); got != "Al <&> ice" || err != nil {
		t.Fatalf("Get = %q %v", got, err)
	}
	if n := srv.Node(NS); n.Access != "open" || n.Items[0].ID != "current" {
		t.Fatalf("node %+v", n)
	}
}
