package conn

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Assumption "SASL2 PLAIN without user-agent" (the reason for the login
// relay): over SASL2 with Bind2, go-xmpp's PLAIN <authenticate> carries the
// Bind2 request but no <user-agent>, so the server cannot derive a stable
// resource from the stored user-agent id. If this fails because go-xmpp
// now sends the user-agent, the relay (relay.go) is no longer needed:
// drop it and let Bind2 derive the resource.
func TestContractSASL2PlainNoUserAgent(t *testing.T) {
	got := make(chan stanza.Element, 1)
	addr := startServer(t, serverConfig{sasl2: true, onSASL2: func(el stanza.Element) { got <- el }}, func(*peer) {})
	o := goxmppOptions(t, addr, false, nil)
	o.UserAgentID = "3f0c7a4e-2b1d-4c5e-9a8b-0123456789ab"
	_, _ = o.NewClient() // refused by the scripted server
	var el stanza.Element
	select {
	case el = <-got:
	case <-time.After(15 * time.Second):
		t.Fatal("go-xmpp did not use SASL2 although it was offered over TLS")
	}
	inner := string(el.Inner)
	if attrOf(el, "mechanism") != "PLAIN" || !strings.Contains(inner, "urn:xmpp:bind:0") {
		t.Fatalf("<authenticate mechanism=%q>%s: want PLAIN with a Bind2 request", attrOf(el, "mechanism"), inner)
	}
	if strings.Contains(inner, "user-agent") {
		t.Errorf("go-xmpp's SASL2 PLAIN now sends the user-agent: the login relay can go (doc.go)\n%s", inner)
	}
}

// Assumption "classic login without the SASL2 offer" (what the relay
// relies on): go-xmpp uses SASL2 only when the features hold
// <authentication xmlns='urn:xmpp:sasl:2'>; with that element removed
// from a server's features it logs in with classic SASL PLAIN and binds
// Options.Resource classically, over the relay's TLS (its TLSConfig's
// roots, server name and client certificate honoured). The whole of Dial
// through the relay, STARTTLS and direct TLS to the server.
func TestContractRelayLogin(t *testing.T) {
	for _, startTLS := range []bool{false, true} {
		name := map[bool]string{false: "direct", true: "starttls"}[startTLS]
		t.Run(name, func(t *testing.T) {
			binds := make(chan stanza.Element, 1)
			addr := startServer(t, serverConfig{startTLS: startTLS, sasl2: true,
				onSASL2: func(stanza.Element) { t.Error("the SASL2 offer reached go-xmpp") }}, func(p *peer) {
				binds <- p.bind
				answerGets(p)
			})
			dir := t.TempDir()
			mem, _ := json.Marshal(map[string]string{addr + " " + contractDomain: "PLAIN"})
			if err := os.WriteFile(filepath.Join(dir, "sasl-mechanisms.json"), mem, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Dial(contractCtx(t), Options{JID: contractUser + "@" + contractDomain, Password: contractPass, Server: addr,
				TLSMode: name, TLS: TLSPolicy{CAFile: caFile(t)}, DialTimeout: 10 * time.Second, DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			id, err := LoadIdentity(dir)
			if err != nil {
				t.Fatal(err)
			}
			if b := <-binds; !strings.Contains(string(b.Inner), "<resource>"+id.Resource+"</resource>") {
				t.Errorf("bind request %s, want the stored resource %s", b.Inner, id.Resource)
			}
			if !Relayed(s) {
				t.Error("the login did not go through the relay")
			}
			if sock := SocketOf(s); sock == nil || sock.RemoteAddr().String() != addr {
				t.Errorf("relay's socket %v, want one connected to %s", sock, addr)
			}
			if runtime.GOOS == "linux" && !LoginSocketFound(s) {
				t.Error("login did not find the relay's socket to the server")
			}
			feats := s.(LoginInfo).StreamFeatures()
			if !offersSASL2Bind2(feats) {
				t.Errorf("LoginInfo shows go-xmpp's filtered features, not the server's: %q", feats)
			}
			if !RelayHandedOff(s) {
				t.Error("after login the relay still forwards what the server or go-xmpp writes")
			}
			// The round trip's answer comes straight from the server.
			if err := s.Flush(contractCtx(t)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil || s.Err() != nil {
				t.Errorf("close: %v, %v", err, s.Err())
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "sasl2-bind2.json")); !strings.Contains(string(b), `"yes"`) {
				t.Errorf("sasl2-bind2.json: %s", b)
			}
		})
	}
}
