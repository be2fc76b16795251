package omemo

import (
	"encoding/xml"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func parseEl(data []byte) (stanza.Element, bool) {
	var el stanza.Element
	if xml.Unmarshal(data, &el) != nil {
		return el, false
	}
	return el, true
}

func TestParseDeviceList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		err  bool
	}{
		{`<list xmlns='eu.siacs.conversations.axolotl'><device id='1'/><device id='2'/></list>`, 2, false},
		{`<list xmlns='eu.siacs.conversations.axolotl'><device id='1'/><device id='1'/><device id='x'/><device id='0'/></list>`, 1, false},
		{`<list xmlns='eu.siacs.conversations.axolotl'/>`, 0, false},
		{`<list xmlns='urn:other'><device id='1'/></list>`, 0, true},
	} {
		el, _ := parseEl([]byte(tc.in))
		got, err := ParseDeviceList(el)
		if (err != nil) != tc.err || len(got) != tc.want {
			t.Errorf("%s: got %v, %v; want %d ids, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseEncryptedHostile(t *testing.T) {
	for _, in := range []string{
		`<encrypted xmlns='eu.siacs.conversations.axolotl'/>`,
		`<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='0'><iv>AAAAAAAAAAAAAAAA</iv></header></encrypted>`,
		`<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><iv>AA==</iv></header></encrypted>`,
		`<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'></header></encrypted>`,
		`<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><iv>AAAAAAAAAAAAAAAA</iv></header><payload>!!</payload></encrypted>`,
	} {
		el, _ := parseEl([]byte(in))
		if h, err := ParseEncrypted(el); err == nil {
			t.Errorf("%s: accepted as %+v", in, h)
		}
	}
	// A key for us with garbage data parses, and decrypting it fails
	// cleanly (fuzzed below through the libsignal decoders).
	for _, b := range [][]byte{{}, {0x33}, {0x33, 0xff, 0xff}, {0x00, 0x01, 0x02}} {
		if _, err := parsePreKeyMessage(b); err == nil {
			t.Errorf("prekey message %x accepted", b)
		}
		if _, err := parseWhisperMessage(b); err == nil {
			t.Errorf("message %x accepted", b)
		}
	}
}

func TestEncryptedRoundTrip(t *testing.T) {
	h := &Header{SID: 7, IV: make([]byte, 12), Payload: []byte("x"), Keys: []Key{{RID: 9, Prekey: true, Data: []byte{1, 2}}}}
	b, err := xml.Marshal(h.Element())
	if err != nil {
		t.Fatal(err)
	}
	want := `<encrypted xmlns="eu.siacs.conversations.axolotl"><header sid="7"><key rid="9" prekey="true">AQI=</key><iv>AAAAAAAAAAAAAAAA</iv></header><payload>eA==</payload></encrypted>`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	el, _ := parseEl(b)
	got, err := ParseEncrypted(el)
	if err != nil || got.SID != 7 || len(got.Keys) != 1 || !got.Keys[0].Prekey || string(got.Payload) != "x" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

func FuzzParseDeviceList(f *testing.F) {
	f.Add([]byte(`<list xmlns='eu.siacs.conversations.axolotl'><device id='1'/><device id='2'/></list>`))
	f.Add([]byte(`<list xmlns='eu.siacs.conversations.axolotl'><device id='4294967296'/></list>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, ok := parseEl(data)
		if !ok {
			return
		}
		ids, err := ParseDeviceList(el)
		if err != nil {
			return
		}
		for _, id := range ids {
			if id == 0 {
				t.Fatal("device id 0 accepted")
			}
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`<bundle xmlns='eu.siacs.conversations.axolotl'><signedPreKeyPublic signedPreKeyId='1'>BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</signedPreKeyPublic>` +
		`<signedPreKeySignature>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==</signedPreKeySignature>` +
		`<identityKey>BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</identityKey><prekeys><preKeyPublic preKeyId='1'>BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</preKeyPublic></prekeys></bundle>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, ok := parseEl(data)
		if !ok {
			return
		}
		b, err := ParseBundle(el)
		if err != nil {
			return
		}
		if len(b.IdentityKey) != publicKeyLen || len(b.SignedPreKey) != publicKeyLen || len(b.PreKeys) == 0 {
			t.Fatalf("accepted a malformed bundle: %+v", b)
		}
		if _, err := b.signal(0, 1); err != nil {
			t.Fatalf("accepted bundle does not convert: %v", err)
		}
	})
}

func FuzzParseEncrypted(f *testing.F) {
	f.Add([]byte(`<encrypted xmlns="eu.siacs.conversations.axolotl"><header sid="7"><key rid="9" prekey="true">AQI=</key><iv>AAAAAAAAAAAAAAAA</iv></header><payload>eA==</payload></encrypted>`))
	f.Add([]byte(`<encrypted xmlns="eu.siacs.conversations.axolotl"><header sid="7"><key rid="9">MwgB</key><iv>AAAAAAAAAAAAAAAA</iv></header></encrypted>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		el, ok := parseEl(data)
		if !ok {
			return
		}
		h, err := ParseEncrypted(el)
		if err != nil {
			return
		}
		if h.SID == 0 || len(h.IV) < 12 {
			t.Fatalf("accepted %+v", h)
		}
		for _, k := range h.Keys {
			// The key data goes to libsignal's decoders: they must not
			// panic through our wrappers.
			_, _ = parsePreKeyMessage(k.Data)
			_, _ = parseWhisperMessage(k.Data)
		}
	})
}

func TestEncryptedWith(t *testing.T) {
	el := func(space, local string) stanza.Element {
		return stanza.Element{XMLName: xml.Name{Space: space, Local: local}}
	}
	for _, tc := range []struct {
		ext  []stanza.Element
		want string
	}{
		{nil, ""},
		{[]stanza.Element{el("urn:xmpp:eme:0", "encryption")}, ""},
		{[]stanza.Element{el(NS, "header")}, ""}, // not the encrypted element
		{[]stanza.Element{el(NS, "encrypted")}, NS},
		{[]stanza.Element{el(NS2, "encrypted")}, NS2},
		{[]stanza.Element{el(NS, "encrypted"), el(NS2, "encrypted")}, NS2}, // the newer, as Decrypt takes it
	} {
		m := &stanza.Message{Ext: tc.ext}
		if got := EncryptedWith(m); got != tc.want || IsEncrypted(m) != (tc.want != "") {
			t.Errorf("%v: %q, IsEncrypted %v; want %q", tc.ext, got, IsEncrypted(m), tc.want)
		}
	}
}
