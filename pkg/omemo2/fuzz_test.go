package omemo2

// Fuzz targets for everything a remote party controls: the protobuf
// messages inside <key/>, the device list, the bundle, the <encrypted/>
// element, the decrypted envelope and the payload; plus the stored
// session state. Run as unit tests on their seeds; `go test -fuzz=FuzzX`
// explores further.

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
)

func FuzzParseKeyExchange(f *testing.F) {
	a, b := newDevice(f), newDevice(f)
	s, err := InitiateSession(a.id, b.bundle(f))
	if err != nil {
		f.Fatal(err)
	}
	w, _, err := s.EncryptKey(make([]byte, KeyMaterialSize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w)
	f.Add([]byte{})
	f.Add([]byte{0x08, 0xff, 0xff, 0xff, 0xff, 0x1f})
	f.Fuzz(func(t *testing.T, data []byte) {
		kx, err := ParseKeyExchange(data)
		if err != nil {
			return
		}
		again, err := ParseKeyExchange(kx.marshal())
		if err != nil || !reflect.DeepEqual(kx, again) {
			t.Fatalf("round trip: %v, %+v != %+v", err, kx, again)
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	m := &message{N: 3, PN: 7, DHPub: make([]byte, 32), Ciphertext: []byte("0123456789abcdef")}
	f.Add((&authMessage{MAC: make([]byte, 16), Message: m.marshal()}).marshal())
	f.Add(m.marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		if am, err := parseAuthMessage(data); err == nil {
			if again, err := parseAuthMessage(am.marshal()); err != nil || !reflect.DeepEqual(am, again) {
				t.Fatalf("auth message round trip: %v", err)
			}
		}
		if m, err := parseMessage(data); err == nil {
			if again, err := parseMessage(m.marshal()); err != nil || !reflect.DeepEqual(m, again) {
				t.Fatalf("message round trip: %v", err)
			}
		}
	})
}

// FuzzDecryptKey feeds hostile <key/> contents to an established session:
// no panic, and a failed decryption leaves the session as it was.
func FuzzDecryptKey(f *testing.F) {
	alice, bob := pair(f)
	for i := 0; i < 3; i++ {
		w, _, err := alice.EncryptKey([]byte("key material"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(w)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		before, _ := bob.MarshalBinary()
		if _, err := bob.DecryptKey(data); err != nil {
			after, _ := bob.MarshalBinary()
			if !bytes.Equal(before, after) {
				t.Fatal("failed decryption changed the session")
			}
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	d := newDevice(f)
	raw, err := xml.Marshal(NewBundle(d.id, d.spk, d.pks))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`<bundle xmlns='urn:xmpp:omemo:2'><spk id='1'>AA==</spk></bundle>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		out, err := xml.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseBundle(out)
		if err != nil || !reflect.DeepEqual(b, again) {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
		_ = b.Verify()
	})
}

func FuzzParseDeviceList(f *testing.F) {
	f.Add([]byte(`<devices xmlns='urn:xmpp:omemo:2'><device id='12345'/><device id='4223' label='Gajim on Ubuntu Linux'/></devices>`))
	f.Add([]byte(`<devices xmlns='urn:xmpp:omemo:2'><device id='0'/></devices>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseDeviceList(data)
		if err != nil {
			return
		}
		out, err := xml.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseDeviceList(out)
		if err != nil || len(again.Devices) != len(l.Devices) {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
		for i := range l.Devices {
			if l.Devices[i].ID != again.Devices[i].ID {
				t.Fatalf("round trip changed device %d", i)
			}
		}
	})
}

func FuzzParseEncrypted(f *testing.F) {
	f.Add([]byte(`<encrypted xmlns='urn:xmpp:omemo:2'><header sid='27183'><keys jid='juliet@capulet.lit'><key rid='31415'>AAAA</key></keys><keys jid='romeo@montague.lit'><key rid='1337'>AAAA</key><key kex='true' rid='12321'>AAAA</key></keys></header><payload>
      AAAA
    </payload></encrypted>`))
	f.Add([]byte(`<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'><keys jid='a@b'><key rid='2' kex='1'>!</key></keys></header></encrypted>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEncrypted(data)
		if err != nil {
			return
		}
		out, err := xml.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseEncrypted(out)
		if err != nil {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
		if len(again.Header.Keys) != len(e.Header.Keys) || !bytes.Equal(again.Payload, e.Payload) {
			t.Fatalf("round trip changed the element:\n%s", out)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	env, err := NewEnvelope("hi", jid.MustParse("a@example.org"), jid.MustParse("b@example.org"), time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	raw, _ := env.Marshal()
	f.Add(raw)
	f.Add([]byte(`<ns0:envelope xmlns:ns0="urn:xmpp:sce:1"><ns0:content><ns1:body xmlns:ns1="jabber:client">x</ns1:body></ns0:content><ns0:to jid="@"/></ns0:envelope>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEnvelope(data)
		if err != nil {
			return
		}
		_ = e.Check(jid.MustParse("a@example.org"), jid.MustParse("b@example.org"), true)
		_ = e.BodyText()
	})
}

func FuzzOpen(f *testing.F) {
	payload, km, err := Seal([]byte("<envelope/>"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload, km)
	f.Fuzz(func(t *testing.T, payload, km []byte) {
		_, _ = Open(payload, km)
	})
}

func FuzzSessionUnmarshal(f *testing.F) {
	alice, bob := pair(f)
	for _, s := range []*Session{alice, bob} {
		b, _ := s.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Session
		if err := s.UnmarshalBinary(data); err != nil {
			return
		}
		b, _ := s.MarshalBinary()
		var s2 Session
		if err := s2.UnmarshalBinary(b); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		b2, _ := s2.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Fatal("state round trip not stable")
		}
		// A corrupt store must not crash the sender or receiver either.
		_, _, _ = s.EncryptKey(EmptyKey())
		_, _ = s2.DecryptKey(data)
	})
}
