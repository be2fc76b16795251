package omemo

import (
	"errors"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
)

// Reasons a message could not be decrypted; shown and stored with it.
var (
	ErrNotForUs = errors.New("not encrypted for this device")
	ErrBroken   = errors.New("cannot decrypt the message key (broken or unknown session)")
	ErrTampered = errors.New("payload failed authentication (tampered or corrupted)")
)

// NoSessionError says that a device sent us a message on a session we do
// not have (we lost our state, or were reinstalled under the same id): the
// Client answers with a new session so the device's next message can be
// read (the repair OMEMO describes).
type NoSessionError struct {
	Device uint32
}

func (e *NoSessionError) Error() string {
	return fmt.Sprintf("%v: no session with sender device %d", ErrBroken, e.Device)
}

func (e *NoSessionError) Unwrap() error { return ErrBroken }

func identityOf(k ecc.ECPublicKeyable) *identity.Key { return identity.NewKey(k) }

// parsePreKeyMessage decodes remote bytes with libsignal, which indexes
// without checking lengths: a panic there is a malformed message.
func parsePreKeyMessage(b []byte) (m *protocol.PreKeySignalMessage, err error) {
	if len(b) < 2 {
		return nil, errors.New("prekey message too short")
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("malformed prekey message")
		}
	}()
	return protocol.NewPreKeySignalMessageFromBytes(b, serializer.PreKeySignalMessage, serializer.SignalMessage)
}

func parseWhisperMessage(b []byte) (m *protocol.SignalMessage, err error) {
	if len(b) < 2 {
		return nil, errors.New("message too short")
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("malformed message")
		}
	}()
	return protocol.NewSignalMessageFromBytes(b, serializer.SignalMessage)
}

// safeDecrypt runs a libsignal decryption of remote data, turning a panic
// into an error.
func safeDecrypt(fn func() ([]byte, error)) (pt []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			pt, err = nil, fmt.Errorf("malformed message")
		}
	}()
	return fn()
}
