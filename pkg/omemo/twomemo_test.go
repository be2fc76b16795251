package omemo

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/omemo2"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// newPartyV is a party whose client speaks the given versions (newest
// first): both is what Open gives, as xmppctl runs.
func newPartyV(t testing.TB, local string, versions ...Backend) *party {
	t.Helper()
	p := newParty(t, local, PolicyBTBV)
	p.c.backends = versions
	if err := p.c.Publish(context.Background(), p.s); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	both    = []Backend{Twomemo{}, Legacy{}}
	only03  = []Backend{Legacy{}}
	only2   = []Backend{Twomemo{}}
	nsNames = map[string]string{NS: "0.3", NS2: "2"}
)

// versionsFor returns, per device id of jid, the version of the
// <encrypted/> element holding its key.
func versionsFor(t *testing.T, m *stanza.Message, jid string) map[uint32]string {
	t.Helper()
	out := map[uint32]string{}
	for _, e := range m.Ext {
		raw := mustXML(t, e)
		switch e.XMLName {
		case xml.Name{Space: NS2, Local: "encrypted"}:
			enc, err := omemo2.ParseEncrypted(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, ks := range enc.Header.Keys {
				if ks.JID == jid {
					for _, k := range ks.Keys {
						out[k.RID] = "2"
					}
				}
			}
		case xml.Name{Space: NS, Local: "encrypted"}:
			h, err := ParseEncrypted(e)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range h.Keys {
				if _, ok := out[k.RID]; !ok {
					out[k.RID] = "0.3"
				}
			}
		}
	}
	return out
}

// Each recipient device gets the newest version it publishes: a device
// in both lists OMEMO 2, a 0.3-only device 0.3, a 2-only device 2; the
// message carries one <encrypted/> and one EME hint per version used.
func TestBackendSelection(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		peer []Backend
		want string
	}{
		{"both", both, "2"},
		{"0.3 only", only03, "0.3"},
		{"2 only", only2, "2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alice := newPartyV(t, "alice", both...)
			bob := newPartyV(t, "bob", tc.peer...)
			alice.see(bob)
			bob.see(alice)
			p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			m := roundTrip(t, alice.jid, bob.jid, p)
			got := versionsFor(t, m, bob.jid)
			if v := got[bob.c.Identity().DeviceID]; v != tc.want || len(got) != 1 {
				t.Fatalf("bob's device got %v, want only version %s", got, tc.want)
			}
			var emes []string
			for _, e := range m.Ext {
				if e.XMLName.Local == "encryption" {
					emes = append(emes, nsNames[e.Attr("namespace")])
				}
			}
			if !slices.Equal(emes, []string{tc.want}) {
				t.Fatalf("EME hints %v, want [%s]", emes, tc.want)
			}
			r := bob.c.Decrypt(ctx, bob.s, m, true)
			if r == nil || r.Err != nil || r.Body != "hello" || nsNames[r.Version] != tc.want {
				t.Fatalf("bob decrypt = %+v", r)
			}
			if r.Fingerprint != alice.c.Identity().Fingerprint() {
				t.Fatalf("fingerprint %s, want %s (one identity for both versions)", r.Fingerprint, alice.c.Identity().Fingerprint())
			}
		})
	}
}

// A message to a 2-only peer goes in OMEMO 2 to the peer and in 0.3 to
// the account's own other device that speaks only 0.3: two <encrypted/>
// elements in one message, each device reading its own.
func TestMixedVersionsOneMessage(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", PolicyBTBV)
	bob := newPartyV(t, "bob", only2...)
	phone := newParty(t, "alice", PolicyBTBV) // alice's other device, same account, 0.3 only
	phone.srv = alice.srv
	phone.s.OnIQ = alice.s.OnIQ
	phone.c.backends = only03
	if err := phone.c.Publish(ctx, phone.s); err != nil {
		t.Fatal(err)
	}
	alice.c.backends = both
	if err := alice.c.Publish(ctx, alice.s); err != nil {
		t.Fatal(err)
	}
	alice.see(bob)
	bob.see(alice)
	p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("to bob and my phone"))
	if err != nil {
		t.Fatal(err)
	}
	m := roundTrip(t, alice.jid, bob.jid, p)
	if got := versionsFor(t, m, alice.jid); got[phone.c.Identity().DeviceID] != "0.3" {
		t.Fatalf("own devices got %v, want the phone in 0.3", got)
	}
	if r := bob.c.Decrypt(ctx, bob.s, m, true); r.Err != nil || r.Body != "to bob and my phone" || r.Version != NS2 {
		t.Fatalf("bob = %+v", r)
	}
	if r := phone.c.Decrypt(ctx, phone.s, m, false); r.Err != nil || r.Body != "to bob and my phone" || r.Version != NS {
		t.Fatalf("phone = %+v", r)
	}
}

// OMEMO 2 end to end between two xmppctl devices: the node layout, the
// key exchange, the empty message completing the session, messages
// without key exchange after it, both directions.
func TestTwomemoConversation(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPartyV(t, "alice", only2...), newPartyV(t, "bob", only2...)
	alice.see(bob)
	bob.see(alice)
	id := strconv.FormatUint(uint64(bob.c.Identity().DeviceID), 10)
	n := bob.srv.Node(omemo2.NSBundles)
	if n == nil || n.Access != "open" || len(n.Items) != 1 || n.Items[0].ID != id {
		t.Fatalf("bundles node = %+v, want item %s, access open", n, id)
	}
	if n := bob.srv.Node(omemo2.NSDevices); n == nil || n.Access != "open" || n.Items[0].ID != "current" {
		t.Fatalf("devices node = %+v", n)
	}
	b, err := omemo2.ParseBundle(n.Items[0].Payload)
	if err != nil || len(b.PreKeys) != PreKeyCount {
		t.Fatalf("bundle: %v, %d prekeys", err, len(b.PreKeys))
	}

	p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	m := roundTrip(t, alice.jid, bob.jid, p)
	if !strings.Contains(string(mustXML(t, m)), `kex="true"`) {
		t.Fatal("first message has no key exchange")
	}
	before := len(messages(bob))
	if r := bob.c.Decrypt(ctx, bob.s, m, true); r.Err != nil || r.Body != "first" || r.Trust != TrustBlind {
		t.Fatalf("bob = %+v", r)
	}
	if len(messages(bob)) != before+1 {
		t.Fatal("bob did not answer the key exchange with an empty message")
	}
	n = bob.srv.Node(omemo2.NSBundles)
	if b, err := omemo2.ParseBundle(n.Items[len(n.Items)-1].Payload); err != nil || len(b.PreKeys) != PreKeyCount {
		t.Fatalf("republished bundle: %v", err)
	}
	empty := lastSent(t, bob)
	if _, ok := stanza.Find(empty.Ext, NS2, "encrypted"); !ok || empty.Body != "" {
		t.Fatalf("empty message: %s", mustXML(t, empty))
	}
	if r := alice.c.Decrypt(ctx, alice.s, empty, true); r.Err != nil || !r.Empty {
		t.Fatalf("alice on the empty message = %+v", r)
	}
	// A repeated key exchange (bob got the first one twice, MAM after
	// live) is no new session.
	if r := bob.c.Decrypt(ctx, bob.s, m, false); r.Err != nil || r.Body != "" {
		t.Fatalf("replayed first message = %+v", r)
	}
	for i, text := range []string{"second", "third"} {
		p, err = alice.c.Seal(ctx, alice.s, bob.jid, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		m = roundTrip(t, alice.jid, bob.jid, p)
		if strings.Contains(string(mustXML(t, m)), `kex=`) {
			t.Fatalf("message %d still has the key exchange", i+2)
		}
		if r := bob.c.Decrypt(ctx, bob.s, m, true); r.Err != nil || r.Body != text {
			t.Fatalf("bob = %+v", r)
		}
	}
	p, err = bob.c.Seal(ctx, bob.s, alice.jid, []byte("reply"))
	if err != nil {
		t.Fatal(err)
	}
	if r := alice.c.Decrypt(ctx, alice.s, roundTrip(t, bob.jid, alice.jid, p), true); r.Err != nil || r.Body != "reply" {
		t.Fatalf("alice = %+v", r)
	}
	// omemo devices: the version of each device, one fingerprint.
	devs, err := alice.c.Devices(ctx, alice.s, bob.jid)
	if err != nil || len(devs) != 1 || devs[0].Version != NS2 || devs[0].Fingerprint() != bob.c.Identity().Fingerprint() {
		t.Fatalf("devices = %+v, %v", devs, err)
	}
}

// What must never show as a normal message: a tampered payload or key, an
// envelope naming another recipient or sender (a message replayed into
// another conversation). Each is kept with its reason.
func TestTwomemoHostile(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		mutate func(m *stanza.Message)
		want   error
	}{
		{"payload", func(m *stanza.Message) { flip(t, m, "payload") }, ErrTampered},
		{"key", func(m *stanza.Message) { flip(t, m, "key ") }, nil},
		{"to", func(m *stanza.Message) { m.To = "carol@example.org" }, omemo2.ErrAffix},
		{"from", func(m *stanza.Message) { m.From = "mallory@example.org/x" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alice, bob := newPartyV(t, "alice", only2...), newPartyV(t, "bob", only2...)
			alice.see(bob)
			bob.see(alice)
			p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("secret"))
			if err != nil {
				t.Fatal(err)
			}
			m := roundTrip(t, alice.jid, bob.jid, p)
			tc.mutate(m)
			r := bob.c.Decrypt(ctx, bob.s, m, true)
			if r == nil || r.Err == nil || r.Body != "" {
				t.Fatalf("decrypt = %+v, want an error and no body", r)
			}
			if tc.want != nil && !errors.Is(r.Err, tc.want) {
				t.Fatalf("error %v, want %v", r.Err, tc.want)
			}
		})
	}
}

// flip changes one bit in the base64 content of m's first OMEMO 2 element
// named local.
func flip(t *testing.T, m *stanza.Message, local string) {
	t.Helper()
	for i, e := range m.Ext {
		if e.XMLName.Space != NS2 {
			continue
		}
		raw := string(e.Inner)
		start := strings.Index(raw, "<"+local)
		start += strings.Index(raw[start:], ">") + 1
		end := start + strings.Index(raw[start:], "<")
		data, err := base64.StdEncoding.DecodeString(raw[start:end])
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 1
		m.Ext[i].Inner = []byte(raw[:start] + base64.StdEncoding.EncodeToString(data) + raw[end:])
		return
	}
	t.Fatal("no OMEMO 2 element")
}

// FuzzTwomemoDecrypt: any <encrypted xmlns='urn:xmpp:omemo:2'/> content a
// peer sends gives a Result (an error or a message), never a panic.
func FuzzTwomemoDecrypt(f *testing.F) {
	ctx := context.Background()
	alice, bob := newPartyV(f, "alice", only2...), newPartyV(f, "bob", only2...)
	alice.see(bob)
	bob.see(alice)
	p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	m := roundTrip(f, alice.jid, bob.jid, p)
	for _, e := range m.Ext {
		if e.XMLName.Space == NS2 {
			f.Add(e.Inner)
		}
	}
	f.Add([]byte(`<header sid="1"><keys jid="bob@example.org"><key rid="1" kex="true">AAAA</key></keys></header>`))
	f.Add([]byte(`<header sid="0"/><payload>!!</payload>`))
	f.Fuzz(func(t *testing.T, inner []byte) {
		el := stanza.Element{XMLName: xml.Name{Space: NS2, Local: "encrypted"}, Inner: inner}
		msg := &stanza.Message{From: alice.jid + "/x", To: bob.jid, Type: stanza.ChatMessage, Ext: []stanza.Element{el}}
		if r := bob.c.Decrypt(ctx, nil, msg, false); r == nil {
			t.Fatal("no result")
		}
	})
}

// A device verified under OMEMO 0.3 that starts speaking OMEMO 2 too (same
// device id and identity) keeps its verification there: with the manual
// policy it gets OMEMO 2 at once; a distrusted one gets nothing in either
// version.
func TestTrustAcrossVersions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		trust Trust
		want  string
	}{{TrustVerified, "2"}, {TrustDistrusted, ""}} {
		t.Run(string(tc.trust), func(t *testing.T) {
			alice := newPartyV(t, "alice", both...)
			alice.c.policy = PolicyManual
			bob := newPartyV(t, "bob", only03...)
			alice.see(bob)
			bob.see(alice)
			devs, err := alice.c.Devices(ctx, alice.s, bob.jid)
			if err != nil || len(devs) != 1 {
				t.Fatalf("devices %+v %v", devs, err)
			}
			if _, err := alice.c.SetTrust(ctx, bob.jid, []string{devs[0].Fingerprint()}, tc.trust); err != nil {
				t.Fatal(err)
			}
			bob.c.backends = both
			bob.c.published = false
			if err := bob.c.Publish(ctx, bob.s); err != nil {
				t.Fatal(err)
			}
			alice.c.lists = map[string]map[string][]uint32{} // a new run
			p, err := alice.c.Seal(ctx, alice.s, bob.jid, []byte("hi"))
			if tc.want == "" {
				var nd *NoDeviceError
				if !errors.As(err, &nd) {
					t.Fatalf("err = %v, want no device", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := versionsFor(t, roundTrip(t, alice.jid, bob.jid, p), bob.jid)
			if got[bob.c.Identity().DeviceID] != tc.want {
				t.Fatalf("versions %v, want %s", got, tc.want)
			}
			devs, _ = alice.c.Devices(ctx, nil, bob.jid)
			for _, d := range devs {
				if d.Trust != tc.trust {
					t.Fatalf("device %+v, want %s in both versions", d, tc.trust)
				}
			}
		})
	}
}
