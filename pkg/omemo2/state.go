package omemo2

// Session serialization: a version byte, then protobuf-style fields
// (protowire), so that fields can be added later. The bytes hold secret
// keys: store them like the identity seed.

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

const stateVersion = 1

const (
	fAD = iota + 1
	fRK
	fDHs
	fDHr
	fCKs
	fCKr
	fNs
	fNr
	fPN
	fFlags
	fPeerIK
	fEK
	fPKID
	fSPKID
	fSkipped
	fOld
)

const (
	flagInitiator = 1 << iota
	flagConfirmed
)

var errState = errors.New("corrupt session state")

// MarshalBinary serializes the session for storage.
func (s *Session) MarshalBinary() ([]byte, error) {
	b := []byte{stateVersion}
	bytesField := func(n protowire.Number, v []byte) {
		if v != nil {
			b = protowire.AppendTag(b, n, protowire.BytesType)
			b = protowire.AppendBytes(b, v)
		}
	}
	varint := func(n protowire.Number, v uint64) {
		b = protowire.AppendTag(b, n, protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	}
	r := s.r
	bytesField(fAD, s.ad)
	bytesField(fRK, r.rk)
	bytesField(fDHs, r.dhs)
	bytesField(fDHr, r.dhr)
	bytesField(fCKs, r.cks)
	bytesField(fCKr, r.ckr)
	varint(fNs, uint64(r.ns))
	varint(fNr, uint64(r.nr))
	varint(fPN, uint64(r.pn))
	var flags uint64
	if s.initiator {
		flags |= flagInitiator
	}
	if s.confirmed {
		flags |= flagConfirmed
	}
	varint(fFlags, flags)
	bytesField(fPeerIK, s.peerIK)
	bytesField(fEK, s.ek)
	varint(fPKID, uint64(s.pkID))
	varint(fSPKID, uint64(s.spkID))
	for _, k := range r.skipped {
		e := make([]byte, 0, keyLen+4+32)
		e = append(e, k.dh[:]...)
		e = binary.BigEndian.AppendUint32(e, k.n)
		e = append(e, k.mk[:]...)
		bytesField(fSkipped, e)
	}
	for _, k := range r.old {
		bytesField(fOld, k)
	}
	return b, nil
}

// UnmarshalBinary restores a session serialized by MarshalBinary.
func (s *Session) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != stateVersion {
		return fmt.Errorf("%w: unknown version", errState)
	}
	var ns Session
	r := &ratchet{}
	ns.r = r
	err := walk(data[1:], func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		if typ == protowire.BytesType {
			d = append([]byte(nil), d...)
		}
		key := func(dst *[]byte) error {
			if typ != protowire.BytesType || len(d) != 32 && !(num == fAD && len(d) == 64) {
				return errState
			}
			*dst = d
			return nil
		}
		u32 := func(dst *uint32) error {
			if typ != protowire.VarintType || v > 0xffffffff {
				return errState
			}
			*dst = uint32(v)
			return nil
		}
		switch num {
		case fAD:
			return key(&ns.ad)
		case fRK:
			return key(&r.rk)
		case fDHs:
			return key(&r.dhs)
		case fDHr:
			return key(&r.dhr)
		case fCKs:
			return key(&r.cks)
		case fCKr:
			return key(&r.ckr)
		case fNs:
			return u32(&r.ns)
		case fNr:
			return u32(&r.nr)
		case fPN:
			return u32(&r.pn)
		case fFlags:
			ns.initiator = v&flagInitiator != 0
			ns.confirmed = v&flagConfirmed != 0
		case fPeerIK:
			return key(&ns.peerIK)
		case fEK:
			return key(&ns.ek)
		case fPKID:
			return u32(&ns.pkID)
		case fSPKID:
			return u32(&ns.spkID)
		case fSkipped:
			if typ != protowire.BytesType || len(d) != keyLen+4+32 || len(r.skipped) >= MaxSkipped {
				return errState
			}
			var k skippedKey
			copy(k.dh[:], d[:keyLen])
			k.n = binary.BigEndian.Uint32(d[keyLen:])
			copy(k.mk[:], d[keyLen+4:])
			r.skipped = append(r.skipped, k)
		case fOld:
			if typ != protowire.BytesType || len(d) != keyLen || len(r.old) >= maxOld {
				return errState
			}
			r.old = append(r.old, d)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errState, err)
	}
	switch {
	case len(ns.ad) != 64, r.rk == nil, r.dhs == nil, len(ns.peerIK) != keyLen:
		return fmt.Errorf("%w: missing field", errState)
	case r.ckr != nil && (r.dhr == nil || r.cks == nil), ns.initiator && (r.cks == nil || r.dhr == nil):
		return fmt.Errorf("%w: inconsistent chains", errState)
	}
	*s = ns
	return nil
}
