package omemo2

import (
	"bytes"
	"encoding/xml"
	"errors"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
)

// device is one test device with its private keys, as a store would keep them.
type device struct {
	id  *Identity
	spk SignedPreKey
	pks []PreKey
}

func newDevice(t testing.TB) *device {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	spk, err := GenerateSignedPreKey(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	pks, err := GeneratePreKeys(1, 5)
	if err != nil {
		t.Fatal(err)
	}
	return &device{id: id, spk: spk, pks: pks}
}

// bundle returns the device's bundle after a trip through its XML.
func (d *device) bundle(t testing.TB) *Bundle {
	t.Helper()
	raw, err := xml.Marshal(NewBundle(d.id, d.spk, d.pks))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// respond handles a key exchange as a receiver would: look up the keys,
// build the session, delete the used prekey.
func (d *device) respond(t testing.TB, wire []byte) (*Session, []byte) {
	t.Helper()
	kx, err := ParseKeyExchange(wire)
	if err != nil {
		t.Fatal(err)
	}
	var pk *PreKey
	for i := range d.pks {
		if d.pks[i].ID == kx.PreKeyID {
			pk = &d.pks[i]
		}
	}
	if pk == nil || kx.SignedPreKeyID != d.spk.ID {
		t.Fatalf("key exchange names unknown keys %d/%d", kx.SignedPreKeyID, kx.PreKeyID)
	}
	s, pt, err := RespondSession(d.id, kx, d.spk, *pk)
	if err != nil {
		t.Fatal(err)
	}
	if s.PreKeyID() != pk.ID {
		t.Errorf("PreKeyID = %d, want %d", s.PreKeyID(), pk.ID)
	}
	return s, pt
}

func mustEncrypt(t testing.TB, s *Session, pt []byte) ([]byte, bool) {
	t.Helper()
	w, kex, err := s.EncryptKey(pt)
	if err != nil {
		t.Fatal(err)
	}
	return w, kex
}

func mustDecrypt(t testing.TB, s *Session, w []byte, want []byte) {
	t.Helper()
	got, err := s.DecryptKey(w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("decrypted %x, want %x", got, want)
	}
}

// pair returns an established pair of sessions: alice initiated, bob
// answered, alice received the answer.
func pair(t testing.TB) (alice, bob *Session) {
	a, b := newDevice(t), newDevice(t)
	alice, err := InitiateSession(a.id, b.bundle(t))
	if err != nil {
		t.Fatal(err)
	}
	w, kex := mustEncrypt(t, alice, []byte("hello"))
	if !kex {
		t.Fatal("first message is not a key exchange")
	}
	bob, pt := b.respond(t, w)
	if string(pt) != "hello" {
		t.Fatalf("bob got %q", pt)
	}
	w, kex = mustEncrypt(t, bob, []byte("hi"))
	if kex {
		t.Fatal("responder sent a key exchange")
	}
	mustDecrypt(t, alice, w, []byte("hi"))
	return alice, bob
}

func TestKeyExchangeUntilAnswered(t *testing.T) {
	a, b := newDevice(t), newDevice(t)
	alice, err := InitiateSession(a.id, b.bundle(t))
	if err != nil {
		t.Fatal(err)
	}
	w1, kex1 := mustEncrypt(t, alice, []byte("one"))
	w2, kex2 := mustEncrypt(t, alice, []byte("two"))
	if !kex1 || !kex2 || alice.Confirmed() {
		t.Fatalf("before an answer: kex %v %v, confirmed %v; want key exchanges", kex1, kex2, alice.Confirmed())
	}
	bob, _ := b.respond(t, w1)
	kx2, err := ParseKeyExchange(w2)
	if err != nil {
		t.Fatal(err)
	}
	if !bob.SameKeyExchange(kx2) {
		t.Fatal("second key exchange not recognised as the same session")
	}
	mustDecrypt(t, bob, kx2.Message, []byte("two"))
	if !bytes.Equal(bob.PeerIdentity(), a.id.Public()) {
		t.Error("PeerIdentity is not alice's identity key")
	}
	// Bob's answer is an empty message, as the spec asks after a key exchange.
	w, _ := mustEncrypt(t, bob, EmptyKey())
	mustDecrypt(t, alice, w, EmptyKey())
	if !alice.Confirmed() {
		t.Fatal("alice not confirmed after bob's answer")
	}
	if _, kex := mustEncrypt(t, alice, []byte("three")); kex {
		t.Fatal("key exchange after the session was confirmed")
	}
}

func TestLongConversation(t *testing.T) {
	alice, bob := pair(t)
	for round := 0; round < 5; round++ {
		for i := 0; i < 3; i++ {
			msg := []byte{byte(round), byte(i), 'a'}
			w, _ := mustEncrypt(t, alice, msg)
			mustDecrypt(t, bob, w, msg)
		}
		msg := []byte{byte(round), 'b'}
		w, _ := mustEncrypt(t, bob, msg)
		mustDecrypt(t, alice, w, msg)
	}
}

func TestOutOfOrderAndSkipped(t *testing.T) {
	alice, bob := pair(t)
	var ws [][]byte
	for i := 0; i < 6; i++ {
		w, _ := mustEncrypt(t, alice, []byte{byte(i)})
		ws = append(ws, w)
	}
	// A reply from bob makes alice ratchet; her next messages use a new chain
	// while messages 4 and 5 of the old chain are still on their way.
	mustDecrypt(t, bob, ws[3], []byte{3})
	w, _ := mustEncrypt(t, bob, []byte("r"))
	mustDecrypt(t, alice, w, []byte("r"))
	nw, _ := mustEncrypt(t, alice, []byte("new"))
	mustDecrypt(t, bob, nw, []byte("new"))
	for _, i := range []int{5, 0, 2, 4, 1} {
		mustDecrypt(t, bob, ws[i], []byte{byte(i)})
	}
	for _, i := range []int{0, 3, 5} {
		if _, err := bob.DecryptKey(ws[i]); !errors.Is(err, ErrDuplicate) {
			t.Errorf("replay of message %d: err = %v, want ErrDuplicate", i, err)
		}
	}
	if _, err := bob.DecryptKey(nw); !errors.Is(err, ErrDuplicate) {
		t.Errorf("replay on the current chain: err = %v, want ErrDuplicate", err)
	}
}

func TestTooManySkipped(t *testing.T) {
	alice, bob := pair(t)
	for i := 0; i < MaxSkip+1; i++ {
		mustEncrypt(t, alice, []byte("lost"))
	}
	w, _ := mustEncrypt(t, alice, []byte("late"))
	if _, err := bob.DecryptKey(w); !errors.Is(err, ErrTooManySkipped) {
		t.Fatalf("err = %v, want ErrTooManySkipped", err)
	}
	// The session is untouched and still works.
	w, _ = mustEncrypt(t, bob, []byte("still"))
	mustDecrypt(t, alice, w, []byte("still"))
}

func TestSkippedKeysBounded(t *testing.T) {
	alice, bob := pair(t)
	for i := 0; i < 3; i++ {
		for j := 0; j < MaxSkip/2; j++ {
			mustEncrypt(t, alice, []byte("lost"))
		}
		w, _ := mustEncrypt(t, alice, []byte("x"))
		mustDecrypt(t, bob, w, []byte("x"))
	}
	if n := len(bob.r.skipped); n != MaxSkipped {
		t.Fatalf("%d skipped keys kept, want %d", n, MaxSkipped)
	}
}

func TestTamperedMessages(t *testing.T) {
	alice, bob := pair(t)
	w, _ := mustEncrypt(t, alice, []byte("secret key material"))
	for i := range w {
		bad := bytes.Clone(w)
		bad[i] ^= 0x01
		if _, err := bob.DecryptKey(bad); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	for _, bad := range [][]byte{nil, w[:len(w)-1], append(bytes.Clone(w), 0)} {
		if _, err := bob.DecryptKey(bad); err == nil {
			t.Fatalf("malformed message %x accepted", bad)
		}
	}
	// None of this changed the session.
	mustDecrypt(t, bob, w, []byte("secret key material"))
}

func TestMessageForAnotherSession(t *testing.T) {
	alice, _ := pair(t)
	_, bob2 := pair(t)
	w, _ := mustEncrypt(t, alice, []byte("x"))
	if _, err := bob2.DecryptKey(w); !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
}

func TestSessionStateRoundTrip(t *testing.T) {
	alice, bob := pair(t)
	reload := func(s *Session) *Session {
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var n Session
		if err := n.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		return &n
	}
	w0, _ := mustEncrypt(t, alice, []byte("skipped"))
	for i := 0; i < 4; i++ {
		alice, bob = reload(alice), reload(bob)
		w, _ := mustEncrypt(t, alice, []byte{byte(i)})
		mustDecrypt(t, bob, w, []byte{byte(i)})
		bob = reload(bob)
		w, _ = mustEncrypt(t, bob, []byte{byte(i), 1})
		mustDecrypt(t, reload(alice), w, []byte{byte(i), 1})
	}
	mustDecrypt(t, reload(bob), w0, []byte("skipped"))

	// An unconfirmed initiator keeps sending key exchanges after a reload.
	a, b := newDevice(t), newDevice(t)
	s, err := InitiateSession(a.id, b.bundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, kex := mustEncrypt(t, reload(s), []byte("x")); !kex {
		t.Fatal("reloaded unconfirmed session stopped sending key exchanges")
	}
}

func TestUnmarshalBinaryRejects(t *testing.T) {
	alice, _ := pair(t)
	good, _ := alice.MarshalBinary()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"version":   append([]byte{9}, good[1:]...),
		"truncated": good[:len(good)/2],
		"no fields": {stateVersion},
	} {
		var s Session
		if err := s.UnmarshalBinary(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBadBundles(t *testing.T) {
	a, b := newDevice(t), newDevice(t)
	good := b.bundle(t)
	cases := map[string]func(*Bundle){
		"no prekeys":     func(x *Bundle) { x.PreKeys = nil },
		"bad signature":  func(x *Bundle) { x.Signature[0] ^= 1 },
		"other identity": func(x *Bundle) { x.IdentityKey = a.id.Public() },
		"other spk":      func(x *Bundle) { x.SignedPreKey = x.PreKeys[0].Key },
	}
	for name, mutate := range cases {
		x := *good
		x.Signature = bytes.Clone(good.Signature)
		x.PreKeys = append([]PublicPreKey(nil), good.PreKeys...)
		mutate(&x)
		if _, err := InitiateSession(a.id, &x); !errors.Is(err, ErrBundle) {
			t.Errorf("%s: err = %v, want ErrBundle", name, err)
		}
	}
}

func TestRespondWithWrongKeys(t *testing.T) {
	a, b := newDevice(t), newDevice(t)
	alice, err := InitiateSession(a.id, b.bundle(t))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := mustEncrypt(t, alice, []byte("x"))
	kx, err := ParseKeyExchange(w)
	if err != nil {
		t.Fatal(err)
	}
	other, err := GeneratePreKeys(kx.PreKeyID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := RespondSession(b.id, kx, b.spk, other[0]); err == nil {
		t.Fatal("session built with the wrong prekey")
	}
}

func TestStale(t *testing.T) {
	alice, bob := pair(t)
	for i := 0; i <= StaleAfter; i++ {
		if bob.Stale() {
			t.Fatalf("stale after %d messages", i)
		}
		w, _ := mustEncrypt(t, alice, []byte("m"))
		mustDecrypt(t, bob, w, []byte("m"))
	}
	if !bob.Stale() {
		t.Fatal("not stale after more than StaleAfter messages")
	}
	w, _ := mustEncrypt(t, bob, EmptyKey())
	mustDecrypt(t, alice, w, EmptyKey())
	w, _ = mustEncrypt(t, alice, []byte("m"))
	mustDecrypt(t, bob, w, []byte("m"))
	if bob.Stale() {
		t.Fatal("still stale after the heartbeat moved the ratchet")
	}
}

func TestMessageRoundTrip(t *testing.T) {
	alice, bob := pair(t)
	from, to := jid.MustParse("alice@example.org/phone"), jid.MustParse("bob@example.net")
	env, err := NewEnvelope("Hello <world> & ]]>", from, to, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pt, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	payload, km, err := Seal(pt)
	if err != nil {
		t.Fatal(err)
	}
	if len(km) != KeyMaterialSize {
		t.Fatalf("key material of %d bytes", len(km))
	}
	w, kex := mustEncrypt(t, alice, km)
	enc := &Encrypted{Header: Header{SID: 1234}, Payload: payload}
	enc.AddKey("bob@example.net", NewKey(42, w, kex))
	raw, err := xml.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}

	got, err := ParseEncrypted(raw)
	if err != nil {
		t.Fatal(err)
	}
	k := got.Find("bob@example.net", 42)
	if k == nil || k.IsKeyExchange() || got.Header.SID != 1234 {
		t.Fatalf("parsed header %+v", got.Header)
	}
	if got.Find("Bob@Example.NET", 42) != k {
		t.Fatal("Find does not normalise the JID")
	}
	if got.Find("bob@example.net", 43) != nil || got.Find("eve@example.net", 42) != nil {
		t.Fatal("Find matched another device")
	}
	km2, err := bob.DecryptKey(k.Data)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Open(got.Payload, km2)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := ParseEnvelope(plain)
	if err != nil {
		t.Fatal(err)
	}
	if e2.BodyText() != "Hello <world> & ]]>" {
		t.Fatalf("body %q", e2.BodyText())
	}
	if err := e2.Check(from, to.Bare(), false); err != nil {
		t.Fatal(err)
	}
	if err := e2.Check(jid.MustParse("eve@example.org"), to, false); !errors.Is(err, ErrAffix) {
		t.Errorf("wrong sender: err = %v", err)
	}
	if err := e2.Check(from, jid.MustParse("room@muc.example.net"), true); !errors.Is(err, ErrAffix) {
		t.Errorf("wrong recipient: err = %v", err)
	}
	if e2.Time == nil {
		t.Fatal("no <time/>")
	}
	if ts, ok := e2.Time.Time(); !ok || time.Since(ts) > time.Hour || e2.RPad == "" {
		t.Errorf("affixes %+v", e2)
	}

	// Tampering with the payload or the tag is caught.
	for _, mut := range []func(p, k []byte){
		func(p, k []byte) { p[0] ^= 1 },
		func(p, k []byte) { p[len(p)-1] ^= 1 },
		func(p, k []byte) { k[40] ^= 1 },
		func(p, k []byte) { k[0] ^= 1 },
	} {
		p, kk := bytes.Clone(got.Payload), bytes.Clone(km2)
		mut(p, kk)
		if _, err := Open(p, kk); !errors.Is(err, ErrPayload) {
			t.Errorf("tampered payload: err = %v", err)
		}
	}
	if _, err := Open(got.Payload, km2[:32]); err == nil {
		t.Error("opened with truncated key material")
	}
}

func TestEmptyMessage(t *testing.T) {
	alice, bob := pair(t)
	w, kex := mustEncrypt(t, alice, EmptyKey())
	enc := &Encrypted{Header: Header{SID: 7}}
	enc.AddKey("bob@example.net", NewKey(8, w, kex))
	raw, err := xml.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("payload")) {
		t.Fatalf("empty message has a payload: %s", raw)
	}
	got, err := ParseEncrypted(raw)
	if err != nil {
		t.Fatal(err)
	}
	km, err := bob.DecryptKey(got.Find("bob@example.net", 8).Data)
	if err != nil {
		t.Fatal(err)
	}
	if !IsEmptyKey(km) || len(got.Payload) != 0 {
		t.Fatalf("key material %x, payload %x", km, got.Payload)
	}
}

func TestEnvelopeAffixes(t *testing.T) {
	room := jid.MustParse("room@muc.example.org")
	alice := jid.MustParse("alice@example.org")
	for _, tc := range []struct {
		name      string
		xml       string
		groupchat bool
		ok        bool
	}{
		{"no affixes 1:1", `<envelope xmlns='urn:xmpp:sce:1'><content/><rpad/></envelope>`, false, true},
		{"no to in group chat", `<envelope xmlns='urn:xmpp:sce:1'><content/><rpad/></envelope>`, true, false},
		{"group chat", `<envelope xmlns='urn:xmpp:sce:1'><content/><to jid='room@muc.example.org'/><from jid='alice@example.org'/></envelope>`, true, true},
		{"case folded", `<envelope xmlns='urn:xmpp:sce:1'><content/><to jid='Room@MUC.example.org'/></envelope>`, true, true},
		{"other from", `<envelope xmlns='urn:xmpp:sce:1'><content/><to jid='room@muc.example.org'/><from jid='mallory@example.org'/></envelope>`, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEnvelope([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Check(alice, room, tc.groupchat); (err == nil) != tc.ok {
				t.Fatalf("Check = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestEnvelopeWithPrefixes(t *testing.T) {
	// ElementTree serialises with generated prefixes; the namespaces count.
	in := `<ns0:envelope xmlns:ns0="urn:xmpp:sce:1" xmlns:ns1="jabber:client"><ns0:content><ns1:body>hi</ns1:body><x xmlns="urn:example"/></ns0:content><ns0:rpad>abc</ns0:rpad><ns0:from jid="a@example.org"/></ns0:envelope>`
	e, err := ParseEnvelope([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if e.BodyText() != "hi" || len(e.Content.Other) != 1 || e.Content.Other[0].XMLName.Space != "urn:example" {
		t.Fatalf("parsed %+v", e.Content)
	}
	// A body in another namespace is not the message body.
	e, err = ParseEnvelope([]byte(`<envelope xmlns='urn:xmpp:sce:1'><content><body>x</body></content></envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	if e.BodyText() != "" {
		t.Fatalf("body in the SCE namespace taken as the message body")
	}
}

func TestInitiatorRejectsForgedFirstAnswer(t *testing.T) {
	a, b := newDevice(t), newDevice(t)
	bundle := b.bundle(t)
	alice, err := InitiateSession(a.id, bundle)
	if err != nil {
		t.Fatal(err)
	}
	// A forged answer under the responder's signed prekey, for every counter
	// an attacker might pick: refused, nothing changes.
	before, _ := alice.MarshalBinary()
	for _, n := range []uint32{0, 1, MaxSkip} {
		m := &message{N: n, DHPub: bundle.SignedPreKey}
		forged := seal(make([]byte, 32), alice.ad, m, EmptyKey())
		if _, err := alice.DecryptKey(forged); !errors.Is(err, ErrAuth) {
			t.Errorf("n=%d: err = %v, want ErrAuth", n, err)
		}
	}
	after, _ := alice.MarshalBinary()
	if !bytes.Equal(before, after) || alice.Confirmed() {
		t.Fatal("forged answer changed the session")
	}
}
