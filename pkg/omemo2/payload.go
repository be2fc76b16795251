package omemo2

// Payload encryption (XEP-0384 "Message Encryption"): a random 32-byte
// key, HKDF-SHA-256 (zero salt, info "OMEMO Payload") to an AES-256 key,
// an HMAC key and an IV; AES-256-CBC with PKCS#7; HMAC-SHA-256 of the
// ciphertext truncated to 16 bytes. The key material sent to each device
// through its session is key || tag (48 bytes); an empty message sends 32
// zero bytes instead and has no payload.

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
)

// KeyMaterialSize is the size of the key material of a message with a
// payload: the 32-byte payload key followed by the 16-byte tag.
const KeyMaterialSize = 32 + macLen

// ErrPayload means the payload does not match its key material: tampered
// or truncated.
var ErrPayload = errors.New("payload authentication failed")

// Seal encrypts plaintext (a serialized SCE envelope) into the <payload/>
// bytes and the key material to encrypt for every recipient device.
func Seal(plaintext []byte) (payload, keyMaterial []byte, err error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	payload, keyMaterial = sealWithKey(key, plaintext)
	return payload, keyMaterial, nil
}

func sealWithKey(key, plaintext []byte) (payload, keyMaterial []byte) {
	encKey, authKey, iv := deriveKeys(key, infoPayload)
	payload = cbcEncrypt(encKey, iv, plaintext)
	return payload, append(bytes.Clone(key), tag(authKey, payload)...)
}

// Open authenticates and decrypts a payload with the key material a
// session decrypted.
func Open(payload, keyMaterial []byte) ([]byte, error) {
	if len(keyMaterial) != KeyMaterialSize {
		return nil, fmt.Errorf("%w: key material of %d bytes", ErrPayload, len(keyMaterial))
	}
	encKey, authKey, iv := deriveKeys(keyMaterial[:32], infoPayload)
	if subtle.ConstantTimeCompare(tag(authKey, payload), keyMaterial[32:]) != 1 {
		return nil, ErrPayload
	}
	pt, err := cbcDecrypt(encKey, iv, payload)
	if err != nil {
		return nil, ErrPayload
	}
	return pt, nil
}

// EmptyKey returns the key material of an empty OMEMO message (32 zero
// bytes): sent to complete a session after a key exchange, as a
// heartbeat, or to start a session without content.
func EmptyKey() []byte { return make([]byte, 32) }

// IsEmptyKey reports whether decrypted key material is that of an empty
// message, which carries no payload and must never be shown as a message.
func IsEmptyKey(keyMaterial []byte) bool { return len(keyMaterial) == 32 }
