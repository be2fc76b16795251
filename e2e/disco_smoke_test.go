package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/disco"
)

func TestDiscoFindsUploadService(t *testing.T) {
	testserver.Require(t, srv)
	s := srv.Dial(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := disco.NewCache(s)
	up, err := c.ServiceWithFeature(ctx, "urn:xmpp:http:upload:0")
	if err != nil {
		t.Fatal(err)
	}
	f, ok := up.Form("urn:xmpp:http:upload:0")
	if up.JID != srv.UploadHost || !ok || f.Value("max-file-size") == "" {
		t.Fatalf("upload service %+v", up)
	}
}
