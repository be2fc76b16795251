package omemo2

// Interoperability with python-omemo's twomemo backend, an independent
// implementation of XEP-0384 0.8, through testdata/twomemo_peer.py: both
// sides start sessions, several messages flow each way, and every message
// crosses as the XML each side produces. No XMPP server is involved; PEP
// is simulated by the peer script.
//
// The test runs when XMPPCTL_INTEGRATION=1 (and then fails if the python
// modules are missing) or whenever /usr/bin/python3 can import them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
)

const peerPython = "/usr/bin/python3"

// peerModules checks once whether the peer's python modules import.
var peerModules = sync.OnceValues(func() ([]byte, error) {
	return exec.Command(peerPython, "-c", "import omemo, twomemo, twomemo.etree, xmlschema").CombinedOutput()
})

// twomemoPeer is the python peer process.
type twomemoPeer struct {
	t     *testing.T
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startTwomemoPeer(t *testing.T) *twomemoPeer {
	t.Helper()
	if out, err := peerModules(); err != nil {
		if os.Getenv("XMPPCTL_INTEGRATION") == "1" {
			t.Fatalf("python-omemo/twomemo not importable by %s (apt-get install python3-omemo python3-twomemo python3-xmlschema): %v\n%s", peerPython, err, out)
		}
		t.Skipf("python-omemo/twomemo not available: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, peerPython, "testdata/twomemo_peer.py")
	cmd.Stderr = io.Discard // python-omemo logs warnings about the simulated PEP
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Errorf("peer exited: %v", err)
		}
		cancel()
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	return &twomemoPeer{t: t, stdin: stdin, out: sc}
}

// call sends one request and returns the reply, failing the test on an
// error reply.
func (p *twomemoPeer) call(req map[string]any) map[string]any {
	p.t.Helper()
	resp, errMsg := p.try(req)
	if errMsg != "" {
		p.t.Fatalf("peer %s: %s", req["op"], errMsg)
	}
	return resp
}

func (p *twomemoPeer) try(req map[string]any) (map[string]any, string) {
	p.t.Helper()
	b, _ := json.Marshal(req)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatal(err)
	}
	if !p.out.Scan() {
		p.t.Fatalf("peer closed its output: %v", p.out.Err())
	}
	var resp map[string]any
	if err := json.Unmarshal(p.out.Bytes(), &resp); err != nil {
		p.t.Fatalf("peer reply %q: %v", p.out.Bytes(), err)
	}
	if e, ok := resp["error"].(string); ok {
		return nil, e
	}
	return resp, ""
}

// goDevice is the Go side: one device with its keys and its sessions.
type goDevice struct {
	*device
	jid      jid.JID
	deviceID uint32
	sessions map[uint32]*Session
	peer     *twomemoPeer // where publish goes
	siblings []*goDevice  // the account's other devices, in the device list
}

func (g *goDevice) publish(t *testing.T, p *twomemoPeer) {
	list := DeviceList{Devices: []Device{{ID: g.deviceID, Label: "xmppctl test"}}}
	for _, o := range g.siblings {
		list.Devices = append(list.Devices, Device{ID: o.deviceID})
	}
	devs, err := xml.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := xml.Marshal(NewBundle(g.id, g.spk, g.pks))
	if err != nil {
		t.Fatal(err)
	}
	p.call(map[string]any{"op": "publish", "jid": g.jid.String(), "device_id": g.deviceID,
		"devices": string(devs), "bundle": string(bundle)})
}

// receive processes an <encrypted/> element from the peer as the OMEMO
// commands will; it returns the body, or "" for an empty message.
func (g *goDevice) receive(t *testing.T, raw string, from jid.JID) string {
	t.Helper()
	enc, err := ParseEncrypted([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	k := enc.Find(g.jid.String(), g.deviceID)
	if k == nil {
		t.Fatalf("message not encrypted for us: %s", raw)
	}
	sid := enc.Header.SID
	var km []byte
	if k.IsKeyExchange() {
		kx, err := ParseKeyExchange(k.Data)
		if err != nil {
			t.Fatal(err)
		}
		if s := g.sessions[sid]; s != nil && s.SameKeyExchange(kx) {
			km, err = s.DecryptKey(kx.Message)
		} else {
			var pk *PreKey
			for i := range g.pks {
				if g.pks[i].ID == kx.PreKeyID {
					pk = &g.pks[i]
				}
			}
			if pk == nil || kx.SignedPreKeyID != g.spk.ID {
				t.Fatalf("key exchange with unknown keys %d/%d", kx.SignedPreKeyID, kx.PreKeyID)
			}
			var s *Session
			s, km, err = RespondSession(g.id, kx, g.spk, *pk)
			if err == nil {
				// As the spec asks: replace the session, retire the
				// prekey, republish the bundle.
				g.sessions[sid] = s
				g.pks = slices.DeleteFunc(g.pks, func(k PreKey) bool { return k.ID == kx.PreKeyID })
				g.publish(t, g.peer)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	} else {
		s := g.sessions[sid]
		if s == nil {
			t.Fatalf("no session with device %d", sid)
		}
		if km, err = s.DecryptKey(k.Data); err != nil {
			t.Fatal(err)
		}
	}
	if IsEmptyKey(km) {
		if len(enc.Payload) != 0 {
			t.Fatal("empty message with a payload")
		}
		return ""
	}
	pt, err := Open(enc.Payload, km)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(pt)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Check(from, g.jid, false); err != nil {
		t.Fatal(err)
	}
	if env.From == nil || env.To == nil || env.Time == nil || env.RPad == "" {
		t.Fatalf("peer envelope lacks affixes: %s", pt)
	}
	if _, ok := env.Time.Time(); !ok {
		t.Errorf("peer time stamp %q not understood", env.Time.Stamp)
	}
	return env.BodyText()
}

// send encrypts body (or an empty message) for device rid of `to`.
func (g *goDevice) send(t *testing.T, to jid.JID, rid uint32, body string, empty bool) (string, bool) {
	t.Helper()
	s := g.sessions[rid]
	enc := &Encrypted{Header: Header{SID: g.deviceID}}
	km := EmptyKey()
	if !empty {
		env, err := NewEnvelope(body, g.jid, to, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		pt, err := env.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if enc.Payload, km, err = Seal(pt); err != nil {
			t.Fatal(err)
		}
	}
	w, kex, err := s.EncryptKey(km)
	if err != nil {
		t.Fatal(err)
	}
	enc.AddKey(to.String(), NewKey(rid, w, kex))
	raw, err := xml.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw), kex
}

func newGoDevice(t *testing.T, p *twomemoPeer, bare string) *goDevice {
	d := newDevice(t)
	pks, err := GeneratePreKeys(1, 100)
	if err != nil {
		t.Fatal(err)
	}
	d.pks = pks
	id, err := NewDeviceID()
	if err != nil {
		t.Fatal(err)
	}
	return &goDevice{device: d, jid: jid.MustParse(bare), deviceID: id, sessions: map[uint32]*Session{}, peer: p}
}

func peerDecrypt(t *testing.T, p *twomemoPeer, from jid.JID, raw string) map[string]any {
	t.Helper()
	return p.call(map[string]any{"op": "decrypt", "from": from.String(), "xml": raw})
}

func TestInteropTwomemoPeerInitiates(t *testing.T) {
	t.Parallel()
	p := startTwomemoPeer(t)
	pyJID := jid.MustParse("py@example.org")
	g := newGoDevice(t, p, "go@example.net")
	info := p.call(map[string]any{"op": "init", "jid": pyJID.String()})
	pyID := uint32(info["device_id"].(float64))
	g.publish(t, p)

	// The peer's first messages carry a key exchange until we answer.
	for i, body := range []string{"first from python", "second from python", "third <&> from python"} {
		raw := p.call(map[string]any{"op": "encrypt", "to": g.jid.String(), "body": body})["xml"].(string)
		enc, err := ParseEncrypted([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if k := enc.Find(g.jid.String(), g.deviceID); k == nil || !k.IsKeyExchange() {
			t.Fatalf("message %d from the peer is not a key exchange", i)
		}
		if got := g.receive(t, raw, pyJID); got != body {
			t.Fatalf("message %d: got %q, want %q", i, got, body)
		}
	}
	theirs, err := ParseBundle([]byte(info["bundle"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.sessions[pyID].PeerIdentity(), theirs.IdentityKey) {
		t.Fatal("the session's peer identity is not the one in the peer's bundle")
	}
	firstPreKey := g.sessions[pyID].PreKeyID()

	// Our answers; after the first one the peer stops sending key exchanges.
	for i := 0; i < 3; i++ {
		raw, kex := g.send(t, pyJID, pyID, "answer from go", false)
		if kex {
			t.Fatal("responder sent a key exchange")
		}
		r := peerDecrypt(t, p, g.jid, raw)
		if r["body"] != "answer from go" || uint32(r["device_id"].(float64)) != g.deviceID {
			t.Fatalf("peer decrypted %v", r)
		}
	}
	// Out of order from the peer.
	var raws []string
	for i := 0; i < 4; i++ {
		raw := p.call(map[string]any{"op": "encrypt", "to": g.jid.String(), "body": fmt.Sprint("after ", i)})["xml"].(string)
		enc, _ := ParseEncrypted([]byte(raw))
		if k := enc.Find(g.jid.String(), g.deviceID); k == nil || k.IsKeyExchange() {
			t.Fatal("peer still sends key exchanges after our answer")
		}
		raws = append(raws, raw)
	}
	for _, i := range []int{2, 0, 3, 1} {
		if got, want := g.receive(t, raws[i], pyJID), fmt.Sprint("after ", i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}

	// The peer resets the session (python-omemo's replace_sessions, its
	// repair of a broken session): a new key exchange in an empty message
	// replaces ours, on a fresh prekey.
	sent := p.call(map[string]any{"op": "replace", "jid": g.jid.String(), "device_id": g.deviceID})["sent"].([]any)
	if len(sent) != 1 {
		t.Fatalf("peer sent %d messages to replace the session", len(sent))
	}
	old := g.sessions[pyID]
	if got := g.receive(t, sent[0].(string), pyJID); got != "" {
		t.Fatalf("session reset message decrypted to %q", got)
	}
	if g.sessions[pyID] == old || g.sessions[pyID].PreKeyID() == firstPreKey {
		t.Fatal("session not replaced on a fresh prekey")
	}
	raw := p.call(map[string]any{"op": "encrypt", "to": g.jid.String(), "body": "after reset"})["xml"].(string)
	if got := g.receive(t, raw, pyJID); got != "after reset" {
		t.Fatalf("got %q", got)
	}
	raw, _ = g.send(t, pyJID, pyID, "answer after reset", false)
	if r := peerDecrypt(t, p, g.jid, raw); r["body"] != "answer after reset" {
		t.Fatalf("peer decrypted %v", r)
	}
}

func TestInteropGoInitiates(t *testing.T) {
	t.Parallel()
	p := startTwomemoPeer(t)
	pyJID := jid.MustParse("py@example.org")
	g := newGoDevice(t, p, "go@example.net")
	info := p.call(map[string]any{"op": "init", "jid": pyJID.String()})
	pyID := uint32(info["device_id"].(float64))
	g.publish(t, p)

	theirs, err := ParseBundle([]byte(info["bundle"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := InitiateSession(g.id, theirs)
	if err != nil {
		t.Fatal(err)
	}
	g.sessions[pyID] = s

	// Two key exchange messages before the peer's answer arrives; the peer
	// answers the first with an empty message, as XEP-0384 asks.
	var answers []string
	for i, body := range []string{"hello from go", "again from go"} {
		raw, kex := g.send(t, pyJID, pyID, body, false)
		if !kex {
			t.Fatalf("message %d is not a key exchange", i)
		}
		r := peerDecrypt(t, p, g.jid, raw)
		if r["body"] != body {
			t.Fatalf("peer decrypted %v", r)
		}
		for _, m := range r["sent"].([]any) {
			answers = append(answers, m.(string))
		}
	}
	if len(answers) == 0 {
		t.Fatal("peer sent no empty message after the key exchange")
	}
	for _, a := range answers {
		if got := g.receive(t, a, pyJID); got != "" {
			t.Fatalf("empty message decrypted to %q", got)
		}
	}
	if !s.Confirmed() {
		t.Fatal("session not confirmed by the peer's empty message")
	}

	// Out of order, then replayed: the peer must decrypt all once.
	var raws []string
	for i := 0; i < 4; i++ {
		raw, kex := g.send(t, pyJID, pyID, "ordered "+string(rune('a'+i)), false)
		if kex {
			t.Fatal("key exchange after confirmation")
		}
		raws = append(raws, raw)
	}
	for _, i := range []int{3, 0, 2, 1} {
		r := peerDecrypt(t, p, g.jid, raws[i])
		if r["body"] != "ordered "+string(rune('a'+i)) {
			t.Fatalf("peer decrypted %v", r)
		}
	}
	if _, e := p.try(map[string]any{"op": "decrypt", "from": g.jid.String(), "xml": raws[2]}); e == "" {
		t.Fatal("peer accepted a replayed message")
	}

	// A tampered payload is refused by the peer.
	raw, _ := g.send(t, pyJID, pyID, "tampered", false)
	enc, err := ParseEncrypted([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	enc.Payload[0] ^= 1
	bad, _ := xml.Marshal(enc)
	if _, e := p.try(map[string]any{"op": "decrypt", "from": g.jid.String(), "xml": string(bad)}); e == "" {
		t.Fatal("peer accepted a tampered payload")
	}

	// The peer answers; both directions keep working over several ratchet steps.
	for i := 0; i < 3; i++ {
		raw := p.call(map[string]any{"op": "encrypt", "to": g.jid.String(), "body": "reply"})["xml"].(string)
		if got := g.receive(t, raw, pyJID); got != "reply" {
			t.Fatalf("got %q", got)
		}
		raw, _ = g.send(t, pyJID, pyID, "and back", false)
		if r := peerDecrypt(t, p, g.jid, raw); r["body"] != "and back" {
			t.Fatalf("peer decrypted %v", r)
		}
	}

	// An empty message from us is processed by the peer as one.
	raw, _ = g.send(t, pyJID, pyID, "", true)
	if r := peerDecrypt(t, p, g.jid, raw); r["plaintext"] != nil {
		t.Fatalf("peer decrypted an empty message to %v", r["plaintext"])
	}
}

// TestInteropSeveralDevices: the peer encrypts one message for two devices
// of our account, each opens its own key; each of our devices starts its
// own session with the peer, whose answer reaches both.
func TestInteropSeveralDevices(t *testing.T) {
	t.Parallel()
	p := startTwomemoPeer(t)
	pyJID := jid.MustParse("py@example.org")
	g1, g2 := newGoDevice(t, p, "go@example.net"), newGoDevice(t, p, "go@example.net")
	g1.siblings, g2.siblings = []*goDevice{g2}, []*goDevice{g1}
	info := p.call(map[string]any{"op": "init", "jid": pyJID.String()})
	pyID := uint32(info["device_id"].(float64))
	g1.publish(t, p)
	g2.publish(t, p)

	raw := p.call(map[string]any{"op": "encrypt", "to": "go@example.net", "body": "to both"})["xml"].(string)
	enc, err := ParseEncrypted([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Header.Keys) != 1 || len(enc.Header.Keys[0].Keys) != 2 {
		t.Fatalf("want one <keys/> with two <key/>: %s", raw)
	}
	for _, g := range []*goDevice{g1, g2} {
		if got := g.receive(t, raw, pyJID); got != "to both" {
			t.Fatalf("device %d got %q", g.deviceID, got)
		}
	}
	for i, g := range []*goDevice{g1, g2} {
		body := fmt.Sprint("from go device ", i)
		raw, _ := g.send(t, pyJID, pyID, body, false)
		if r := peerDecrypt(t, p, g.jid, raw); r["body"] != body || uint32(r["device_id"].(float64)) != g.deviceID {
			t.Fatalf("peer decrypted %v", r)
		}
	}
	raw = p.call(map[string]any{"op": "encrypt", "to": "go@example.net", "body": "answer to both"})["xml"].(string)
	for _, g := range []*goDevice{g1, g2} {
		if got := g.receive(t, raw, pyJID); got != "answer to both" {
			t.Fatalf("device %d got %q", g.deviceID, got)
		}
	}
}

// TestInteropHeartbeat: after more than StaleAfter messages without an
// answer the peer sends an empty heartbeat, as Session.Stale tells our
// side to; the heartbeat moves the ratchet on.
func TestInteropHeartbeat(t *testing.T) {
	t.Parallel()
	p := startTwomemoPeer(t)
	pyJID := jid.MustParse("py@example.org")
	g := newGoDevice(t, p, "go@example.net")
	info := p.call(map[string]any{"op": "init", "jid": pyJID.String()})
	pyID := uint32(info["device_id"].(float64))
	g.publish(t, p)
	theirs, err := ParseBundle([]byte(info["bundle"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if g.sessions[pyID], err = InitiateSession(g.id, theirs); err != nil {
		t.Fatal(err)
	}
	// The key exchange and the peer's empty answer; our next message then
	// starts a new sending chain, the peer's new receiving chain.
	raw, _ := g.send(t, pyJID, pyID, "", true)
	sent := peerDecrypt(t, p, g.jid, raw)["sent"].([]any)
	if len(sent) != 1 {
		t.Fatalf("peer sent %d messages after the key exchange", len(sent))
	}
	g.receive(t, sent[0].(string), pyJID)
	var heartbeats []string
	for i := 1; i <= StaleAfter+1; i++ {
		raw, _ := g.send(t, pyJID, pyID, "", true)
		for _, m := range peerDecrypt(t, p, g.jid, raw)["sent"].([]any) {
			heartbeats = append(heartbeats, m.(string))
		}
		if i <= StaleAfter && len(heartbeats) > 0 {
			t.Fatalf("heartbeat after %d messages", i)
		}
	}
	if len(heartbeats) != 1 {
		t.Fatalf("%d heartbeats after %d messages, want 1", len(heartbeats), StaleAfter+1)
	}
	if got := g.receive(t, heartbeats[0], pyJID); got != "" {
		t.Fatalf("heartbeat decrypted to %q", got)
	}
	// The peer's receiving chain was restarted by our next message.
	raw, _ = g.send(t, pyJID, pyID, "", true)
	if r := peerDecrypt(t, p, g.jid, raw); len(r["sent"].([]any)) != 0 {
		t.Fatal("peer still sends heartbeats after the ratchet moved")
	}
}
