package omemo

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

type party struct {
	jid string
	s   *xmpptest.Session
	srv *peptest.Server
	c   *Client
	st  *store.Store
}

func newParty(t testing.TB, local string, p Policy) *party {
	t.Helper()
	ctx := context.Background()
	s, srv := peptest.NewSession()
	jid := local + "@example.org"
	srv.Account, s.Full = jid, jid+"/xmppctl"
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := Open(ctx, st, jid, p)
	if err != nil {
		t.Fatal(err)
	}
	c.backends = []Backend{Legacy{}} // an OMEMO 0.3 client: twomemo_test.go has both versions
	return &party{jid: jid, s: s, srv: srv, c: c, st: st}
}

// see lets a read b's PEP nodes (as an open-access contact would).
func (a *party) see(b *party) { a.srv.Others[b.jid] = b.srv.Nodes }

// roundTrip marshals what from would send to to and parses it as the
// receiver does.
func roundTrip(t testing.TB, from, to string, payloads []any) *stanza.Message {
	t.Helper()
	m := stanza.Message{ID: "m1", From: from + "/res", To: to, Type: stanza.ChatMessage, Body: FallbackBody, Payload: payloads}
	b, err := xml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got stanza.Message
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return &got
}

func lastSent(t *testing.T, p *party) *stanza.Message {
	t.Helper()
	sent := messages(p)
	if len(sent) == 0 {
		t.Fatal("nothing sent")
	}
	var m stanza.Message
	if err := xml.Unmarshal([]byte(sent[len(sent)-1]), &m); err != nil {
		t.Fatal(err)
	}
	m.From = p.jid + "/xmppctl"
	return &m
}

func TestConversation(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice", PolicyBTBV), newParty(t, "bob", PolicyBTBV)
	alice.see(bob)
	bob.see(alice)
	if err := bob.c.Publish(ctx, bob.s); err != nil {
		t.Fatal(err)
	}
	if n := bob.srv.Node(BundleNode(bob.c.Identity().DeviceID)); n == nil || n.Access != "open" {
		t.Fatalf("bundle node = %+v, want published with access open", n)
	}

	// First message: a prekey message.
	p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("hello bob"))
	if err != nil {
		t.Fatal(err)
	}
	m := roundTrip(t, alice.jid, bob.jid, p)
	if !strings.Contains(string(mustXML(t, m)), `prekey="true"`) {
		t.Fatalf("first message is not a prekey message: %s", mustXML(t, m))
	}
	before := len(messages(bob))
	r := bob.c.Decrypt(ctx, bob.s, m, true)
	if r == nil || r.Err != nil || r.Body != "hello bob" {
		t.Fatalf("bob decrypt = %+v", r)
	}
	if r.Trust != TrustBlind || r.Fingerprint != alice.c.Identity().Fingerprint() {
		t.Fatalf("trust %s fp %s, want blind %s", r.Trust, r.Fingerprint, alice.c.Identity().Fingerprint())
	}
	if n := len(messages(bob)) - before; n != 1 {
		t.Fatalf("bob sent %d messages after a prekey message, want the empty key transport", n)
	}
	// The used prekey is replaced: still PreKeyCount in the bundle.
	if got := bundlePreKeys(t, bob); got != PreKeyCount {
		t.Fatalf("bundle has %d prekeys after one was used, want %d", got, PreKeyCount)
	}
	// Alice processes the key transport silently.
	r = alice.c.Decrypt(ctx, alice.s, lastSent(t, bob), true)
	if r == nil || r.Err != nil || !r.Empty {
		t.Fatalf("alice on key transport = %+v", r)
	}
	// Now alice's messages no longer carry the key exchange.
	p, err = alice.c.Seal(ctx, alice.s, bob.jid, []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	m = roundTrip(t, alice.jid, bob.jid, p)
	if strings.Contains(string(mustXML(t, m)), `prekey=`) {
		t.Fatalf("second message still a prekey message")
	}
	if r = bob.c.Decrypt(ctx, bob.s, m, true); r.Err != nil || r.Body != "second" {
		t.Fatalf("bob second = %+v", r)
	}
	// Bob answers on the same session.
	p, err = bob.c.Seal(ctx, bob.s, alice.jid, []byte("hi alice"))
	if err != nil {
		t.Fatal(err)
	}
	if r = alice.c.Decrypt(ctx, alice.s, roundTrip(t, bob.jid, alice.jid, p), true); r.Err != nil || r.Body != "hi alice" ||
		r.Fingerprint != bob.c.Identity().Fingerprint() {
		t.Fatalf("alice reply = %+v, want from %s", r, bob.c.Identity().Fingerprint())
	}

	// Tampered payload: refused, and the session still works afterwards.
	p, _ = alice.c.Seal(ctx, alice.s, bob.jid, []byte("third"))
	enc := p[0].(Encrypted)
	raw, _ := base64.StdEncoding.DecodeString(enc.Payload)
	raw[0] ^= 1
	enc.Payload = base64.StdEncoding.EncodeToString(raw)
	p[0] = enc
	if r = bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true); !errors.Is(r.Err, ErrTampered) {
		t.Fatalf("tampered = %+v, want ErrTampered", r)
	}
	p, _ = alice.c.Seal(ctx, alice.s, bob.jid, []byte("fourth"))
	if r = bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true); r.Err != nil || r.Body != "fourth" {
		t.Fatalf("after tampered = %+v", r)
	}

	// A message for another device of ours.
	enc = p[0].(Encrypted)
	enc.Header.Keys[0].RID++
	p[0] = enc
	if r = bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true); !errors.Is(r.Err, ErrNotForUs) {
		t.Fatalf("not for us = %+v", r)
	}
}

func mustXML(t testing.TB, v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bundlePreKeys(t *testing.T, p *party) int {
	t.Helper()
	n := p.srv.Node(BundleNode(p.c.Identity().DeviceID))
	if n == nil || len(n.Items) == 0 {
		t.Fatal("no bundle")
	}
	var el stanza.Element
	if err := xml.Unmarshal(n.Items[len(n.Items)-1].Payload, &el); err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(el)
	if err != nil {
		t.Fatal(err)
	}
	return len(b.PreKeys)
}

func TestNoDevice(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice", PolicyBTBV), newParty(t, "bob", PolicyBTBV)
	alice.see(bob)
	_, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("x"))
	var nd *NoDeviceError
	if !errors.As(err, &nd) || nd.Hint() != "xmppctl omemo devices bob@example.org" {
		t.Fatalf("err = %v, want NoDeviceError", err)
	}
}

func TestManualTrust(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice", PolicyManual), newParty(t, "bob", PolicyBTBV)
	alice.see(bob)
	if err := bob.c.Publish(ctx, bob.s); err != nil {
		t.Fatal(err)
	}
	_, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("x"))
	var nd *NoDeviceError
	if !errors.As(err, &nd) || !strings.Contains(nd.Reason, "verified") {
		t.Fatalf("err = %v, want NoDeviceError about verification", err)
	}
	devs, err := alice.c.Devices(ctx, alice.s, bob.jid)
	if err != nil || len(devs) != 1 || devs[0].Fingerprint() != bob.c.Identity().Fingerprint() || devs[0].Trust != TrustUndecided {
		t.Fatalf("devices = %+v, %v", devs, err)
	}
	if _, err := alice.c.SetTrust(ctx, bob.jid, []string{"05" + strings.ToUpper(bob.c.Identity().Fingerprint())}, TrustVerified); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("x")); err != nil {
		t.Fatalf("after trust: %v", err)
	}
	if _, err := alice.c.SetTrust(ctx, bob.jid, []string{strings.Repeat("ab", 32)}, TrustVerified); err == nil {
		t.Fatal("unknown fingerprint accepted")
	}
}

// The store file stays private, and the identity is stable across opens.
func TestIdentityStable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *Identity {
		st, err := store.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		c, err := Open(ctx, st, "a@example.org", PolicyBTBV)
		if err != nil {
			t.Fatal(err)
		}
		return c.Identity()
	}
	a, b := open(), open()
	if a.DeviceID != b.DeviceID || a.Public != b.Public || a.DeviceID == 0 || a.DeviceID >= 1<<31 {
		t.Fatalf("identity changed or invalid: %d vs %d", a.DeviceID, b.DeviceID)
	}
	fi, err := os.Stat(filepath.Join(dir, store.FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store mode %v, %v", fi.Mode().Perm(), err)
	}
}

func messages(p *party) []string {
	var out []string
	for _, s := range p.s.Sent() {
		if strings.HasPrefix(s, "<message") {
			out = append(out, s)
		}
	}
	return out
}

// Publish keeps the account's other devices (read-modify-write); clean
// removes only devices without a bundle, never this one.
func TestPublishKeepsOthersAndClean(t *testing.T) {
	ctx := context.Background()
	a := newParty(t, "alice", PolicyBTBV)
	if err := (Legacy{}).PublishDevices(ctx, a.s, []uint32{111, 222}); err != nil {
		t.Fatal(err)
	}
	// 222 has a bundle (another live client), 111 is gone.
	other := newParty(t, "other", PolicyBTBV)
	var item any
	err := update(ctx, other.st, func(tx *sql.Tx) error {
		var err error
		item, err = (Legacy{}).OwnBundle(ctx, tx, other.jid, other.c.Identity())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (Legacy{}).PublishBundle(ctx, a.s, 222, item); err != nil {
		t.Fatal(err)
	}
	if err := a.c.Publish(ctx, a.s); err != nil {
		t.Fatal(err)
	}
	ids, _ := (Legacy{}).FetchDevices(ctx, a.s, "")
	if !slices.Contains(ids, 111) || !slices.Contains(ids, 222) || !slices.Contains(ids, a.c.Identity().DeviceID) {
		t.Fatalf("device list %v lost devices", ids)
	}
	gone, err := a.c.Gone(ctx, a.s)
	if err != nil || len(gone[NS]) != 1 || gone[NS][0] != 111 {
		t.Fatalf("gone = %v, %v", gone, err)
	}
	if err := a.c.Remove(ctx, a.s, gone); err != nil {
		t.Fatal(err)
	}
	ids, _ = (Legacy{}).FetchDevices(ctx, a.s, "")
	if slices.Contains(ids, 111) || !slices.Contains(ids, 222) || !slices.Contains(ids, a.c.Identity().DeviceID) {
		t.Fatalf("after clean: %v", ids)
	}
}

// A device that lost its session answers a message on it with a new
// session (an empty prekey message), after which messages get through.
func TestRepairLostSession(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice", PolicyBTBV), newParty(t, "bob", PolicyBTBV)
	alice.see(bob)
	bob.see(alice)
	if err := bob.c.Publish(ctx, bob.s); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.Publish(ctx, alice.s); err != nil {
		t.Fatal(err)
	}
	p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if r := bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := alice.c.Decrypt(ctx, alice.s, lastSent(t, bob), true); r.Err != nil || !r.Empty {
		t.Fatalf("key transport: %+v", r)
	}
	// Bob loses his state for alice.
	if err := update(ctx, bob.st, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM omemo_sessions`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	p, _ = alice.c.Seal(ctx, alice.s, bob.jid, []byte("lost"))
	before := len(messages(bob))
	r := bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true)
	var ns *NoSessionError
	if !errors.As(r.Err, &ns) || len(messages(bob)) != before+1 {
		t.Fatalf("lost session: %+v, %d new messages", r, len(messages(bob))-before)
	}
	if r := alice.c.Decrypt(ctx, alice.s, lastSent(t, bob), true); r.Err != nil || !r.Empty {
		t.Fatalf("repair message: %+v", r)
	}
	p, _ = alice.c.Seal(ctx, alice.s, bob.jid, []byte("after repair"))
	if r := bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true); r.Err != nil || r.Body != "after repair" {
		t.Fatalf("after repair: %+v", r)
	}
}

// After HeartbeatAfter messages from a device without an answer, an empty
// message goes back to it; an answer resets the count.
func TestHeartbeat(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice", PolicyBTBV), newParty(t, "bob", PolicyBTBV)
	alice.see(bob)
	bob.see(alice)
	if err := bob.c.Publish(ctx, bob.s); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.Publish(ctx, alice.s); err != nil {
		t.Fatal(err)
	}
	// The first (prekey) message is answered at once; count from there.
	p, _ := alice.c.Seal(ctx, alice.s, bob.jid, []byte("0"))
	bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true)
	alice.c.Decrypt(ctx, alice.s, lastSent(t, bob), true)
	before := len(messages(bob))
	for i := 1; i <= HeartbeatAfter; i++ {
		p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if r := bob.c.Decrypt(ctx, bob.s, roundTrip(t, alice.jid, bob.jid, p), true); r.Err != nil {
			t.Fatal(r.Err)
		}
		if got := len(messages(bob)) - before; (i < HeartbeatAfter && got != 0) || (i == HeartbeatAfter && got != 1) {
			t.Fatalf("after %d messages bob sent %d", i, got)
		}
	}
	if r := alice.c.Decrypt(ctx, alice.s, lastSent(t, bob), true); r.Err != nil || !r.Empty {
		t.Fatalf("heartbeat: %+v", r)
	}
}

// Blind trust before verification: once one of bob's devices is verified,
// a new device of his is not used until trusted; a distrusted device never.
func TestBTBVAfterVerification(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice", PolicyBTBV), newParty(t, "bob", PolicyBTBV)
	alice.see(bob)
	if err := bob.c.Publish(ctx, bob.s); err != nil {
		t.Fatal(err)
	}
	rids := func() []uint32 {
		t.Helper()
		p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		for _, k := range p[0].(Encrypted).Header.Keys {
			out = append(out, k.RID)
		}
		return out
	}
	first := bob.c.Identity()
	if got := rids(); len(got) != 1 || got[0] != first.DeviceID {
		t.Fatalf("keys for %v, want bob's device", got)
	}
	if _, err := alice.c.SetTrust(ctx, bob.jid, []string{first.Fingerprint()}, TrustVerified); err != nil {
		t.Fatal(err)
	}
	// Bob adds a second device (its bundle published on his account).
	second := newParty(t, "bob2", PolicyBTBV)
	var item any
	if err := update(ctx, second.st, func(tx *sql.Tx) error {
		var err error
		item, err = (Legacy{}).OwnBundle(ctx, tx, second.jid, second.c.Identity())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	id2 := second.c.Identity()
	if err := (Legacy{}).PublishBundle(ctx, bob.s, id2.DeviceID, item); err != nil {
		t.Fatal(err)
	}
	if err := (Legacy{}).PublishDevices(ctx, bob.s, []uint32{first.DeviceID, id2.DeviceID}); err != nil {
		t.Fatal(err)
	}
	alice.c.lists = map[string]map[string][]uint32{} // a new run
	if got := rids(); len(got) != 1 || got[0] != first.DeviceID {
		t.Fatalf("keys for %v: the new device must wait for trust after a verification", got)
	}
	if _, err := alice.c.Devices(ctx, alice.s, bob.jid); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.SetTrust(ctx, bob.jid, []string{id2.Fingerprint()}, TrustVerified); err != nil {
		t.Fatal(err)
	}
	if got := rids(); len(got) != 2 {
		t.Fatalf("keys for %v after trusting the new device", got)
	}
	if _, err := alice.c.SetTrust(ctx, bob.jid, []string{first.Fingerprint()}, TrustDistrusted); err != nil {
		t.Fatal(err)
	}
	if got := rids(); len(got) != 1 || got[0] != id2.DeviceID {
		t.Fatalf("keys for %v after distrusting the first device", got)
	}
}
