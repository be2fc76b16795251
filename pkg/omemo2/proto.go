package omemo2

// The three protobuf messages of XEP-0384 (section "Protobuf Schema"),
// marshalled by hand with protowire because they are small and fixed:
//
//	message OMEMOMessage {
//	    required uint32 n          = 1;
//	    required uint32 pn         = 2;
//	    required bytes  dh_pub     = 3;
//	    optional bytes  ciphertext = 4;
//	}
//	message OMEMOAuthenticatedMessage {
//	    required bytes mac     = 1;
//	    required bytes message = 2; // byte encoding of an OMEMOMessage
//	}
//	message OMEMOKeyExchange {
//	    required uint32 pk_id  = 1;
//	    required uint32 spk_id = 2;
//	    required bytes  ik     = 3;
//	    required bytes  ek     = 4;
//	    required OMEMOAuthenticatedMessage message = 5;
//	}
//
// Parsers are strict: every required field present exactly once, key
// fields of the right length, wire types as declared; unknown fields are
// skipped as protobuf requires. The MAC is computed over the exact bytes
// received in OMEMOAuthenticatedMessage.message, never over a re-encoding.

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// macLen is the length of the truncated HMAC-SHA-256 authentication tags.
const macLen = 16

// keyLen is the length of X25519 and Ed25519 public keys on the wire.
const keyLen = 32

var errProto = errors.New("malformed protobuf")

// message is an OMEMOMessage: the Double Ratchet header plus the
// ciphertext of the key material.
type message struct {
	N, PN      uint32
	DHPub      []byte
	Ciphertext []byte // nil when encoding the header alone (CONCAT)
}

func (m *message) marshal() []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.N))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.PN))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, m.DHPub)
	if m.Ciphertext != nil {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, m.Ciphertext)
	}
	return b
}

func parseMessage(b []byte) (*message, error) {
	var m message
	var seen [5]bool
	err := walk(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch num {
		case 1, 2:
			if typ != protowire.VarintType || v > math.MaxUint32 {
				return errProto
			}
			if num == 1 {
				m.N = uint32(v)
			} else {
				m.PN = uint32(v)
			}
		case 3:
			if typ != protowire.BytesType || len(data) != keyLen {
				return errProto
			}
			m.DHPub = data
		case 4:
			if typ != protowire.BytesType {
				return errProto
			}
			m.Ciphertext = data
		default:
			return nil
		}
		if seen[num] {
			return errProto
		}
		seen[num] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse OMEMOMessage: %w", err)
	}
	if !seen[1] || !seen[2] || !seen[3] {
		return nil, fmt.Errorf("parse OMEMOMessage: %w: missing field", errProto)
	}
	return &m, nil
}

// authMessage is an OMEMOAuthenticatedMessage.
type authMessage struct {
	MAC     []byte
	Message []byte // serialized OMEMOMessage, kept as received
}

func (a *authMessage) marshal() []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, a.MAC)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, a.Message)
}

func parseAuthMessage(b []byte) (*authMessage, error) {
	var a authMessage
	var seen [3]bool
	err := walk(b, func(num protowire.Number, typ protowire.Type, _ uint64, data []byte) error {
		if num != 1 && num != 2 {
			return nil
		}
		if typ != protowire.BytesType || seen[num] {
			return errProto
		}
		seen[num] = true
		if num == 1 {
			if len(data) != macLen {
				return errProto
			}
			a.MAC = data
		} else {
			a.Message = data
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse OMEMOAuthenticatedMessage: %w", err)
	}
	if !seen[1] || !seen[2] {
		return nil, fmt.Errorf("parse OMEMOAuthenticatedMessage: %w: missing field", errProto)
	}
	return &a, nil
}

// KeyExchange is a parsed OMEMOKeyExchange: the X3DH header of a session
// initiation plus the first (or a repeated) authenticated message.
type KeyExchange struct {
	PreKeyID       uint32 // the one-time prekey the initiator used
	SignedPreKeyID uint32 // the signed prekey the initiator used
	IdentityKey    []byte // the initiator's Ed25519 identity key
	EphemeralKey   []byte // the initiator's X25519 ephemeral key
	Message        []byte // the serialized OMEMOAuthenticatedMessage
}

func (k *KeyExchange) marshal() []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(k.PreKeyID))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(k.SignedPreKeyID))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, k.IdentityKey)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendBytes(b, k.EphemeralKey)
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	return protowire.AppendBytes(b, k.Message)
}

// ParseKeyExchange parses the content of a <key kex='true'> element (an
// OMEMOKeyExchange), so that the caller can look up the signed prekey and
// prekey it names before calling RespondSession.
func ParseKeyExchange(b []byte) (*KeyExchange, error) {
	var k KeyExchange
	var seen [6]bool
	err := walk(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch num {
		case 1, 2:
			if typ != protowire.VarintType || v > math.MaxUint32 {
				return errProto
			}
			if num == 1 {
				k.PreKeyID = uint32(v)
			} else {
				k.SignedPreKeyID = uint32(v)
			}
		case 3, 4:
			if typ != protowire.BytesType || len(data) != keyLen {
				return errProto
			}
			if num == 3 {
				k.IdentityKey = data
			} else {
				k.EphemeralKey = data
			}
		case 5:
			if typ != protowire.BytesType {
				return errProto
			}
			if _, err := parseAuthMessage(data); err != nil {
				return err
			}
			k.Message = data
		default:
			return nil
		}
		if seen[num] {
			return errProto
		}
		seen[num] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse OMEMOKeyExchange: %w", err)
	}
	for _, s := range seen[1:] {
		if !s {
			return nil, fmt.Errorf("parse OMEMOKeyExchange: %w: missing field", errProto)
		}
	}
	return &k, nil
}

// walk calls f for every field of b, with the varint value or the bytes
// of a length-delimited field; other wire types are skipped.
func walk(b []byte, f func(protowire.Number, protowire.Type, uint64, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errProto
		}
		b = b[n:]
		var v uint64
		var data []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			data, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errProto
		}
		b = b[n:]
		if err := f(num, typ, v, data); err != nil {
			return err
		}
	}
	return nil
}
