package omemo2

import (
	"bytes"
	"encoding/xml"
	"flag"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
	"mellium.im/xmpp/jid"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedKeys returns deterministic key material for golden files.
func fixedKeys(t *testing.T) (*Identity, SignedPreKey, []PreKey) {
	t.Helper()
	id, err := IdentityFromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	spk := SignedPreKey{ID: 3, Private: bytes.Repeat([]byte{9}, 32)}
	spk.Signature = signForTest(id, spk.Public())
	pks := []PreKey{{ID: 1, Private: bytes.Repeat([]byte{1}, 32)}, {ID: 2, Private: bytes.Repeat([]byte{2}, 32)}}
	return id, spk, pks
}

func TestGoldenXML(t *testing.T) {
	id, spk, pks := fixedKeys(t)
	enc := &Encrypted{Header: Header{SID: 27183}, Payload: []byte("payload bytes")}
	enc.AddKey("juliet@capulet.lit", NewKey(31415, []byte{1, 2, 3}, false))
	enc.AddKey("romeo@montague.lit", NewKey(1337, []byte{4, 5, 6}, false))
	enc.AddKey("romeo@montague.lit", NewKey(12321, []byte{7, 8, 9}, true))
	env := &Envelope{
		Content: Content{Body: &Body{Text: "Hello <World> & co"}},
		RPad:    "padding",
		Time:    &TimeAffix{Stamp: "2026-12-07T08:00:00Z"},
		To:      &JIDAffix{JID: jid.MustParse("juliet@capulet.lit")},
		From:    &JIDAffix{JID: jid.MustParse("romeo@montague.lit")},
	}
	for _, tc := range []struct {
		name  string
		v     any
		parse func([]byte) (any, error)
	}{
		{"devices.xml", &DeviceList{Devices: []Device{{ID: 12345}, {ID: 4223, Label: "Gajim on Ubuntu Linux"}}},
			func(b []byte) (any, error) { return ParseDeviceList(b) }},
		{"bundle.xml", NewBundle(id, spk, pks), func(b []byte) (any, error) { return ParseBundle(b) }},
		{"encrypted.xml", enc, func(b []byte) (any, error) { return ParseEncrypted(b) }},
		{"envelope.xml", env, func(b []byte) (any, error) { return ParseEnvelope(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := xml.MarshalIndent(tc.v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tc.name, append(got, '\n'), *update)
			parsed, err := tc.parse(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := xml.MarshalIndent(parsed, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Fatalf("round trip differs:\n%s", again)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name, xml string
		parse     func([]byte) error
	}{
		{"device id 0", `<devices xmlns='urn:xmpp:omemo:2'><device id='0'/></devices>`, parseDevices},
		{"device id too big", `<devices xmlns='urn:xmpp:omemo:2'><device id='2147483648'/></devices>`, parseDevices},
		{"device id not a number", `<devices xmlns='urn:xmpp:omemo:2'><device id='x'/></devices>`, parseDevices},
		{"devices other namespace", `<devices xmlns='urn:xmpp:omemo:1'><device id='1'/></devices>`, parseDevices},
		{"bundle short ik", `<bundle xmlns='urn:xmpp:omemo:2'><spk id='1'>` + b64(32) + `</spk><spks>` + b64(64) + `</spks><ik>` + b64(31) + `</ik><prekeys/></bundle>`, parseBundle},
		{"bundle no spk", `<bundle xmlns='urn:xmpp:omemo:2'><spks>` + b64(64) + `</spks><ik>` + b64(32) + `</ik></bundle>`, parseBundle},
		{"bundle bad base64", `<bundle xmlns='urn:xmpp:omemo:2'><spk id='1'>%%%</spk></bundle>`, parseBundle},
		{"bundle prekey id 0", `<bundle xmlns='urn:xmpp:omemo:2'><spk id='1'>` + b64(32) + `</spk><spks>` + b64(64) + `</spks><ik>` + validIK(t) + `</ik><prekeys><pk id='0'>` + b64(32) + `</pk></prekeys></bundle>`, parseBundle},
		{"encrypted no sid", `<encrypted xmlns='urn:xmpp:omemo:2'><header><keys jid='a@b'><key rid='1'>AA==</key></keys></header></encrypted>`, parseEncrypted},
		{"encrypted rid 0", `<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'><keys jid='a@b'><key rid='0'>AA==</key></keys></header></encrypted>`, parseEncrypted},
		{"encrypted bad kex", `<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'><keys jid='a@b'><key rid='1' kex='yes'>AA==</key></keys></header></encrypted>`, parseEncrypted},
		{"encrypted OMEMO 0.3", `<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted>`, parseEncrypted},
		{"envelope bad jid", `<envelope xmlns='urn:xmpp:sce:1'><content/><to jid='@'/></envelope>`, parseEnvelope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.parse([]byte(tc.xml)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func parseDevices(b []byte) error   { _, err := ParseDeviceList(b); return err }
func parseBundle(b []byte) error    { _, err := ParseBundle(b); return err }
func parseEncrypted(b []byte) error { _, err := ParseEncrypted(b); return err }
func parseEnvelope(b []byte) error  { _, err := ParseEnvelope(b); return err }

func b64(n int) string {
	t, _ := base64Data(make([]byte, n)).MarshalText()
	return string(t)
}

func validIK(t *testing.T) string {
	id, _, _ := fixedKeys(t)
	b, _ := base64Data(id.Public()).MarshalText()
	return string(b)
}
