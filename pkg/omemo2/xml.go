package omemo2

// XML of XEP-0384 version 0.8 (namespace urn:xmpp:omemo:2): the device
// list, the bundle and the <encrypted/> element. Binary values are base64
// (xs:base64Binary, so whitespace inside is allowed and ignored).

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Namespaces and PEP nodes of OMEMO 2.
const (
	NS        = "urn:xmpp:omemo:2"
	NSDevices = "urn:xmpp:omemo:2:devices" // PEP node of the device list, item "current"
	NSBundles = "urn:xmpp:omemo:2:bundles" // PEP node of the bundles, one item per device id
	// DevicesItem is the item id of the device list.
	DevicesItem = "current"
)

// base64Data is binary data carried as base64 text.
type base64Data []byte

func (b base64Data) MarshalText() ([]byte, error) {
	return []byte(base64.StdEncoding.EncodeToString(b)), nil
}

func (b *base64Data) UnmarshalText(text []byte) error {
	clean := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, text)
	d, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil {
		return fmt.Errorf("invalid base64: %w", err)
	}
	*b = d
	return nil
}

// xsBool is an xs:boolean attribute.
type xsBool bool

func (f xsBool) MarshalText() ([]byte, error) {
	if f {
		return []byte("true"), nil
	}
	return []byte("false"), nil
}

func (f *xsBool) UnmarshalText(text []byte) error {
	switch strings.TrimSpace(string(text)) {
	case "true", "1":
		*f = true
	case "false", "0":
		*f = false
	default:
		return fmt.Errorf("invalid boolean %q", text)
	}
	return nil
}

// DeviceList is the content of item "current" of the NSDevices node.
type DeviceList struct {
	XMLName xml.Name `xml:"urn:xmpp:omemo:2 devices"`
	Devices []Device `xml:"device"`
}

// Device is one entry of a device list.
type Device struct {
	ID    uint32 `xml:"id,attr"`
	Label string `xml:"label,attr,omitempty"` // user-chosen: sanitise before printing
}

// ParseDeviceList parses a <devices/> element. Ids must be in 1..2^31-1;
// a repeated id is kept once.
func ParseDeviceList(data []byte) (*DeviceList, error) {
	var l DeviceList
	if err := xml.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("parse device list: %w", err)
	}
	seen := make(map[uint32]bool, len(l.Devices))
	out := l.Devices[:0]
	for _, d := range l.Devices {
		if d.ID == 0 || d.ID > MaxID {
			return nil, fmt.Errorf("parse device list: device id %d out of range", d.ID)
		}
		if !seen[d.ID] {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	l.Devices = out
	return &l, nil
}

// Bundle is the public key material of one device, published as item
// <device id> of the NSBundles node.
type Bundle struct {
	SignedPreKeyID uint32
	SignedPreKey   []byte // X25519 public key
	Signature      []byte // Ed25519 signature of SignedPreKey by IdentityKey
	IdentityKey    []byte // Ed25519 public key
	PreKeys        []PublicPreKey
}

// PublicPreKey is a one-time prekey as published.
type PublicPreKey struct {
	ID  uint32
	Key []byte // X25519 public key
}

type xmlKey struct {
	ID  uint32     `xml:"id,attr"`
	Key base64Data `xml:",chardata"`
}

type xmlBundle struct {
	XMLName xml.Name   `xml:"urn:xmpp:omemo:2 bundle"`
	SPK     xmlKey     `xml:"spk"`
	SPKS    base64Data `xml:"spks"`
	IK      base64Data `xml:"ik"`
	PreKeys []xmlKey   `xml:"prekeys>pk"`
}

// NewBundle builds our bundle from the identity, the current signed
// prekey and the unused one-time prekeys.
func NewBundle(id *Identity, spk SignedPreKey, pks []PreKey) *Bundle {
	b := &Bundle{
		SignedPreKeyID: spk.ID,
		SignedPreKey:   spk.Public(),
		Signature:      bytes.Clone(spk.Signature),
		IdentityKey:    id.Public(),
	}
	for _, k := range pks {
		b.PreKeys = append(b.PreKeys, PublicPreKey{ID: k.ID, Key: k.Public()})
	}
	return b
}

// MarshalXML writes the <bundle/> element.
func (b *Bundle) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	x := xmlBundle{
		SPK:  xmlKey{ID: b.SignedPreKeyID, Key: b.SignedPreKey},
		SPKS: b.Signature,
		IK:   b.IdentityKey,
	}
	for _, k := range b.PreKeys {
		x.PreKeys = append(x.PreKeys, xmlKey{ID: k.ID, Key: k.Key})
	}
	return e.Encode(x)
}

// UnmarshalXML reads and checks a <bundle/> element (sizes, id ranges, a
// valid identity key); the signature is checked by Verify.
func (b *Bundle) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var x xmlBundle
	if err := d.DecodeElement(&x, &start); err != nil {
		return err
	}
	nb := Bundle{
		SignedPreKeyID: x.SPK.ID,
		SignedPreKey:   x.SPK.Key,
		Signature:      x.SPKS,
		IdentityKey:    x.IK,
	}
	if !validID(x.SPK.ID) || len(x.SPK.Key) != keyLen {
		return errors.New("bad signed prekey")
	}
	if len(x.SPKS) != ed25519.SignatureSize {
		return errors.New("bad signed prekey signature")
	}
	if _, err := montgomery(x.IK); err != nil {
		return err
	}
	for _, k := range x.PreKeys {
		if !validID(k.ID) || len(k.Key) != keyLen {
			return errors.New("bad prekey")
		}
		nb.PreKeys = append(nb.PreKeys, PublicPreKey{ID: k.ID, Key: k.Key})
	}
	*b = nb
	return nil
}

func validID(id uint32) bool { return id != 0 && id <= MaxID }

// ParseBundle parses and checks a <bundle/> element.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := xml.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("parse bundle: %w", err)
	}
	return &b, nil
}

// Verify checks the signed prekey's signature by the identity key.
func (b *Bundle) Verify() error {
	if len(b.IdentityKey) != ed25519.PublicKeySize || len(b.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(b.IdentityKey, b.SignedPreKey, b.Signature) {
		return fmt.Errorf("%w: bad signed prekey signature", ErrBundle)
	}
	return nil
}

// Encrypted is the <encrypted/> element of an OMEMO 2 message.
type Encrypted struct {
	XMLName xml.Name   `xml:"urn:xmpp:omemo:2 encrypted"`
	Header  Header     `xml:"header"`
	Payload base64Data `xml:"payload,omitempty"` // empty for an empty (key transport) message
}

// Header is the <header/> of an <encrypted/> element.
type Header struct {
	SID  uint32 `xml:"sid,attr"` // sending device id
	Keys []Keys `xml:"keys"`
}

// Keys holds the keys for the devices of one bare JID.
type Keys struct {
	JID  string `xml:"jid,attr"`
	Keys []Key  `xml:"key"`
}

// Key is the key material encrypted for one device: an
// OMEMOAuthenticatedMessage, or an OMEMOKeyExchange when KEX is set.
type Key struct {
	RID  uint32     `xml:"rid,attr"`
	KEX  xsBool     `xml:"kex,attr,omitempty"`
	Data base64Data `xml:",chardata"`
}

// NewKey returns a <key/> for device rid from EncryptKey's results.
func NewKey(rid uint32, wire []byte, kex bool) Key {
	return Key{RID: rid, KEX: xsBool(kex), Data: wire}
}

// IsKeyExchange reports whether the key carries an OMEMOKeyExchange.
func (k *Key) IsKeyExchange() bool { return bool(k.KEX) }

// ParseEncrypted parses an <encrypted/> element and checks its ids.
func ParseEncrypted(data []byte) (*Encrypted, error) {
	var e Encrypted
	if err := xml.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("parse encrypted: %w", err)
	}
	if !validID(e.Header.SID) {
		return nil, fmt.Errorf("parse encrypted: sender device id %d out of range", e.Header.SID)
	}
	for _, ks := range e.Header.Keys {
		for _, k := range ks.Keys {
			if !validID(k.RID) {
				return nil, fmt.Errorf("parse encrypted: recipient device id %d out of range", k.RID)
			}
		}
	}
	return &e, nil
}

// Find returns the key for device rid of bareJID, or nil when the message
// was not encrypted for that device.
func (e *Encrypted) Find(bareJID string, rid uint32) *Key {
	for i := range e.Header.Keys {
		if !stanza.SameBare(e.Header.Keys[i].JID, bareJID) {
			continue
		}
		for j := range e.Header.Keys[i].Keys {
			if e.Header.Keys[i].Keys[j].RID == rid {
				return &e.Header.Keys[i].Keys[j]
			}
		}
	}
	return nil
}

// AddKey adds a device's key under bareJID, grouping keys by JID.
func (e *Encrypted) AddKey(bareJID string, k Key) {
	for i := range e.Header.Keys {
		if e.Header.Keys[i].JID == bareJID {
			e.Header.Keys[i].Keys = append(e.Header.Keys[i].Keys, k)
			return
		}
	}
	e.Header.Keys = append(e.Header.Keys, Keys{JID: bareJID, Keys: []Key{k}})
}
