package pep_test

import (
	"context"
	"encoding/xml"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/pep"
)

var srv *testserver.Server

func TestMain(m *testing.M) { testserver.Main(m, &srv) }

type note struct {
	XMLName xml.Name `xml:"urn:xmppctl:test note"`
	Text    string   `xml:",chardata"`
}

func TestProbe(t *testing.T) {
	testserver.Require(t, srv)
	u := srv.NewUser(t, "pep")
	s := srv.Dial(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info, err := disco.GetInfo(ctx, s, srv.JID(u), "")
	t.Logf("account info %v %+v", err, info)
	sinfo, err := disco.GetInfo(ctx, s, srv.Domain, "")
	t.Logf("server info %v %+v", err, sinfo)
	err = pep.Publish(ctx, s, "urn:xmppctl:test", "a", note{Text: "x"}, pep.Options{Access: pep.Open})
	t.Logf("publish open: %v", err)
	m, err := pep.Access(ctx, s, "urn:xmppctl:test")
	t.Logf("access: %v %v", m, err)
	err = pep.Publish(ctx, s, "urn:xmppctl:test", "b", note{Text: "y"}, pep.Options{Access: pep.Whitelist})
	t.Logf("publish whitelist: %v", err)
	m, err = pep.Access(ctx, s, "urn:xmppctl:test")
	t.Logf("access: %v %v", m, err)
	err = pep.Publish(ctx, s, "urn:xmppctl:test2", "b", note{Text: "y"}, pep.Options{Access: pep.Roster})
	t.Logf("publish roster: %v", err)
	items, err := pep.Items(ctx, s, "", "urn:xmppctl:test", 0)
	t.Logf("items: %+v %v", items, err)
	_, err = pep.Items(ctx, s, "", "urn:xmppctl:nonode", 0)
	t.Logf("items nonode: %v", err)
	_, err = pep.Access(ctx, s, "urn:xmppctl:nonode")
	t.Logf("access nonode: %v notfound=%v", err, pep.IsNotFound(err))
	err = pep.Retract(ctx, s, "urn:xmppctl:test", "b")
	t.Logf("retract: %v", err)
	items, err = pep.Items(ctx, s, "", "urn:xmppctl:test", 0)
	t.Logf("items: %+v %v", items, err)
}
