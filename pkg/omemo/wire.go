package omemo

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Wire format of OMEMO 0.3 (XEP-0384 version 0.3.0, namespace
// eu.siacs.conversations.axolotl). Every parser here reads remote input:
// it bounds counts and sizes, and never panics (fuzzed in wire_test.go).

// Limits on remote data: far above what any client publishes, low enough
// that a hostile peer cannot make us hold or process much.
const (
	maxDevices   = 1000
	maxPreKeys   = 1000
	maxKeys      = 10000
	maxKeyBytes  = 4096
	maxPayload   = 1 << 20
	maxIVBytes   = 16
	publicKeyLen = 33 // 0x05 || Curve25519 point
)

// DeviceList is the item of the devicelist node: <list><device id=…/></list>.
type DeviceList struct {
	XMLName xml.Name       `xml:"eu.siacs.conversations.axolotl list"`
	Devices []deviceIDElem `xml:"device"`
}

type deviceIDElem struct {
	ID    uint32 `xml:"id,attr"`
	Label string `xml:"label,attr,omitempty"`
}

// NewDeviceList builds the list item for ids.
func NewDeviceList(ids []uint32) DeviceList {
	l := DeviceList{}
	for _, id := range ids {
		l.Devices = append(l.Devices, deviceIDElem{ID: id})
	}
	return l
}

// ParseDeviceList reads the device ids of a list item. Invalid entries
// (id 0, not a number, duplicates) are skipped: one bad entry must not
// hide a contact's other devices.
func ParseDeviceList(el stanza.Element) ([]uint32, error) {
	if !el.Is(NS, "list") {
		return nil, fmt.Errorf("device list: unexpected element <%s xmlns=%q>", el.XMLName.Local, el.XMLName.Space)
	}
	var raw struct {
		Devices []struct {
			ID string `xml:"id,attr"`
		} `xml:"device"`
	}
	if err := el.Decode(&raw); err != nil {
		return nil, fmt.Errorf("device list: %w", err)
	}
	seen := map[uint32]bool{}
	var out []uint32
	for _, d := range raw.Devices {
		id, err := strconv.ParseUint(strings.TrimSpace(d.ID), 10, 32)
		if err != nil || id == 0 || seen[uint32(id)] {
			continue
		}
		seen[uint32(id)] = true
		out = append(out, uint32(id))
		if len(out) > maxDevices {
			return nil, fmt.Errorf("device list: more than %d devices", maxDevices)
		}
	}
	return out, nil
}

// BundleElem is the item of a bundles node.
type BundleElem struct {
	XMLName               xml.Name       `xml:"eu.siacs.conversations.axolotl bundle"`
	SignedPreKeyPublic    signedPreKey   `xml:"signedPreKeyPublic"`
	SignedPreKeySignature string         `xml:"signedPreKeySignature"`
	IdentityKey           string         `xml:"identityKey"`
	PreKeys               []preKeyPublic `xml:"prekeys>preKeyPublic"`
}

type signedPreKey struct {
	ID    uint32 `xml:"signedPreKeyId,attr"`
	Value string `xml:",chardata"`
}

type preKeyPublic struct {
	ID    uint32 `xml:"preKeyId,attr"`
	Value string `xml:",chardata"`
}

// Bundle is a device's published key material, decoded and checked for
// shape (the signature is checked when a session is built from it).
type Bundle struct {
	IdentityKey    []byte // 33 bytes, 0x05 || Curve25519
	SignedPreKeyID uint32
	SignedPreKey   []byte // 33 bytes
	Signature      [64]byte
	PreKeys        map[uint32][]byte // id → 33 bytes
}

// Element returns the bundle's wire form.
func (b *Bundle) Element() BundleElem {
	e := BundleElem{
		SignedPreKeyPublic:    signedPreKey{ID: b.SignedPreKeyID, Value: b64(b.SignedPreKey)},
		SignedPreKeySignature: b64(b.Signature[:]),
		IdentityKey:           b64(b.IdentityKey),
	}
	for _, id := range sortedKeys(b.PreKeys) {
		e.PreKeys = append(e.PreKeys, preKeyPublic{ID: id, Value: b64(b.PreKeys[id])})
	}
	return e
}

// ParseBundle decodes a bundle item.
func ParseBundle(el stanza.Element) (*Bundle, error) {
	if !el.Is(NS, "bundle") {
		return nil, fmt.Errorf("bundle: unexpected element <%s xmlns=%q>", el.XMLName.Local, el.XMLName.Space)
	}
	var raw struct {
		SPK struct {
			ID    string `xml:"signedPreKeyId,attr"`
			Value string `xml:",chardata"`
		} `xml:"signedPreKeyPublic"`
		Sig     string `xml:"signedPreKeySignature"`
		IK      string `xml:"identityKey"`
		PreKeys []struct {
			ID    string `xml:"preKeyId,attr"`
			Value string `xml:",chardata"`
		} `xml:"prekeys>preKeyPublic"`
	}
	if err := el.Decode(&raw); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if len(raw.PreKeys) > maxPreKeys {
		return nil, fmt.Errorf("bundle: more than %d prekeys", maxPreKeys)
	}
	b := &Bundle{PreKeys: map[uint32][]byte{}}
	var err error
	if b.IdentityKey, err = publicKey(raw.IK); err != nil {
		return nil, fmt.Errorf("bundle: identity key: %w", err)
	}
	if b.SignedPreKey, err = publicKey(raw.SPK.Value); err != nil {
		return nil, fmt.Errorf("bundle: signed prekey: %w", err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(raw.SPK.ID), 10, 32)
	if err != nil {
		return nil, errors.New("bundle: signed prekey without a valid id")
	}
	b.SignedPreKeyID = uint32(id)
	sig, err := unb64(raw.Sig)
	if err != nil || len(sig) != 64 {
		return nil, errors.New("bundle: signature is not 64 bytes of base64")
	}
	copy(b.Signature[:], sig)
	for _, pk := range raw.PreKeys {
		id, err := strconv.ParseUint(strings.TrimSpace(pk.ID), 10, 32)
		if err != nil {
			continue
		}
		k, err := publicKey(pk.Value)
		if err != nil {
			continue
		}
		b.PreKeys[uint32(id)] = k
	}
	if len(b.PreKeys) == 0 {
		return nil, errors.New("bundle: no usable prekey")
	}
	return b, nil
}

// publicKey decodes a base64 public key in the 33-byte form; a bare
// 32-byte key (some old clients) gets its type byte.
func publicKey(s string) ([]byte, error) {
	k, err := unb64(s)
	if err != nil {
		return nil, err
	}
	switch {
	case len(k) == publicKeyLen && k[0] == 0x05:
		return k, nil
	case len(k) == 32:
		return append([]byte{0x05}, k...), nil
	}
	return nil, fmt.Errorf("not a Curve25519 public key (%d bytes)", len(k))
}

// Encrypted is the <encrypted/> element of a message.
type Encrypted struct {
	XMLName xml.Name  `xml:"eu.siacs.conversations.axolotl encrypted"`
	Header  HeaderXML `xml:"header"`
	Payload string    `xml:"payload,omitempty"`
}

// HeaderXML is the wire form of <header/>.
type HeaderXML struct {
	SID  uint32   `xml:"sid,attr"`
	Keys []KeyXML `xml:"key"`
	IV   string   `xml:"iv"`
}

// KeyXML is one <key/>: the message key sealed for one device.
type KeyXML struct {
	RID    uint32 `xml:"rid,attr"`
	Prekey bool   `xml:"prekey,attr,omitempty"`
	Value  string `xml:",chardata"`
}

// Header is a decoded <encrypted/> element.
type Header struct {
	SID     uint32
	Keys    []Key
	IV      []byte
	Payload []byte // nil for an empty (key transport) message
}

// Key is the sealed message key for device RID.
type Key struct {
	RID    uint32
	Prekey bool
	Data   []byte
}

// Element returns the header's wire form.
func (h *Header) Element() Encrypted {
	e := Encrypted{Header: HeaderXML{SID: h.SID, IV: b64(h.IV)}}
	for _, k := range h.Keys {
		e.Header.Keys = append(e.Header.Keys, KeyXML{RID: k.RID, Prekey: k.Prekey, Value: b64(k.Data)})
	}
	if h.Payload != nil {
		e.Payload = b64(h.Payload)
	}
	return e
}

// ParseEncrypted decodes an <encrypted/> element.
func ParseEncrypted(el stanza.Element) (*Header, error) {
	if !el.Is(NS, "encrypted") {
		return nil, fmt.Errorf("encrypted: unexpected element <%s xmlns=%q>", el.XMLName.Local, el.XMLName.Space)
	}
	var raw struct {
		Header struct {
			SID  string `xml:"sid,attr"`
			Keys []struct {
				RID    string `xml:"rid,attr"`
				Prekey string `xml:"prekey,attr"`
				Value  string `xml:",chardata"`
			} `xml:"key"`
			IV *string `xml:"iv"`
		} `xml:"header"`
		Payload *string `xml:"payload"`
	}
	if err := el.Decode(&raw); err != nil {
		return nil, fmt.Errorf("encrypted: %w", err)
	}
	sid, err := strconv.ParseUint(strings.TrimSpace(raw.Header.SID), 10, 32)
	if err != nil || sid == 0 {
		return nil, errors.New("encrypted: header without a valid sender device id")
	}
	h := &Header{SID: uint32(sid)}
	if raw.Header.IV == nil {
		return nil, errors.New("encrypted: header without iv")
	}
	if h.IV, err = unb64(*raw.Header.IV); err != nil || len(h.IV) < 12 || len(h.IV) > maxIVBytes {
		return nil, errors.New("encrypted: iv is not 12 to 16 bytes of base64")
	}
	if len(raw.Header.Keys) > maxKeys {
		return nil, fmt.Errorf("encrypted: more than %d keys", maxKeys)
	}
	for _, k := range raw.Header.Keys {
		rid, err := strconv.ParseUint(strings.TrimSpace(k.RID), 10, 32)
		if err != nil || rid == 0 {
			continue
		}
		data, err := unb64(k.Value)
		if err != nil || len(data) == 0 || len(data) > maxKeyBytes {
			continue
		}
		p := strings.TrimSpace(k.Prekey)
		h.Keys = append(h.Keys, Key{RID: uint32(rid), Prekey: p == "true" || p == "1", Data: data})
	}
	if raw.Payload != nil {
		if len(*raw.Payload) > maxPayload*4/3+8 {
			return nil, errors.New("encrypted: payload too large")
		}
		if h.Payload, err = unb64(*raw.Payload); err != nil {
			return nil, errors.New("encrypted: payload is not base64")
		}
		if h.Payload == nil {
			h.Payload = []byte{}
		}
	}
	return h, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// unb64 decodes base64 with or without padding and with whitespace, as
// clients write it.
func unb64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
