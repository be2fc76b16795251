package omemo

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/signalerror"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Legacy is the OMEMO 0.3 backend.
type Legacy struct{}

// Version implements Backend.
func (Legacy) Version() string { return NS }

// Identity implements RemoteBundle.
func (b *Bundle) Identity() []byte { return b.IdentityKey }

// BundleNode is the node of a device's bundle.
func BundleNode(device uint32) string {
	return nodeBundlesPrefix + strconv.FormatUint(uint64(device), 10)
}

// FetchDevices implements Backend.
func (Legacy) FetchDevices(ctx context.Context, s conn.Session, jid string) ([]uint32, error) {
	items, err := pep.Items(ctx, s, jid, NodeDevices, 0, "current")
	if isMissing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.Payload.XMLName.Local != "" {
			return ParseDeviceList(it.Payload)
		}
	}
	return nil, nil
}

// isMissing says that a node cannot be read because it does not exist:
// item-not-found, or forbidden as Prosody answers a non-contact.
func isMissing(err error) bool {
	var se *stanza.Error
	return errors.As(err, &se) && (se.Condition == stanza.ItemNotFound || se.Condition == stanza.Forbidden)
}

// PublishDevices implements Backend.
func (Legacy) PublishDevices(ctx context.Context, s conn.Session, ids []uint32) error {
	return pep.Publish(ctx, s, NodeDevices, "current", NewDeviceList(ids), pep.Options{Access: pep.Open})
}

// FetchBundle implements Backend.
func (Legacy) FetchBundle(ctx context.Context, s conn.Session, jid string, device uint32) (RemoteBundle, error) {
	items, err := pep.Items(ctx, s, jid, BundleNode(device), 1)
	if isMissing(err) {
		return nil, fmt.Errorf("device %d of %s publishes no bundle", device, jid)
	}
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.Payload.XMLName.Local != "" {
			return ParseBundle(it.Payload)
		}
	}
	return nil, fmt.Errorf("device %d of %s publishes an empty bundle", device, jid)
}

// EnsureKeys implements Backend.
func (Legacy) EnsureKeys(ctx context.Context, tx *sql.Tx, account string, id *Identity, now time.Time) (bool, error) {
	return ensureKeys(ctx, tx, account, NS, id, now)
}

// OwnBundle implements Backend.
func (Legacy) OwnBundle(ctx context.Context, tx *sql.Tx, account string, id *Identity) (any, error) {
	b, err := ownBundle(ctx, tx, account, NS, id)
	if err != nil {
		return nil, err
	}
	return b.Element(), nil
}

// PublishBundle implements Backend.
func (Legacy) PublishBundle(ctx context.Context, s conn.Session, device uint32, item any) error {
	return pep.Publish(ctx, s, BundleNode(device), "current", item, pep.Options{Access: pep.Open})
}

// HasSession implements Backend.
func (Legacy) HasSession(ctx context.Context, tx *sql.Tx, account string, id *Identity, jid string, device uint32) (bool, error) {
	return newSigStore(tx, account, NS, id).ContainsSession(ctx, protocol.NewSignalAddress(jid, device))
}

func cipherFor(st *sigStore, a *protocol.SignalAddress) (*session.Builder, *session.Cipher) {
	b := session.NewBuilder(st, st, st, st, a, serializer)
	return b, session.NewCipher(b, a)
}

// Encrypt implements Backend: AES-128-GCM over the plaintext with a fresh
// key and 12-byte IV; key||tag (32 bytes) sealed per device. An empty
// message seals a random key and carries no payload.
func (Legacy) Encrypt(ctx context.Context, tx *sql.Tx, account string, id *Identity, plaintext []byte, to []Recipient) (any, error) {
	key := make([]byte, 16)
	iv := make([]byte, 12)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	h := &Header{SID: id.DeviceID, IV: iv}
	material := key
	if plaintext != nil {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sealed := gcm.Seal(nil, iv, plaintext, nil)
		n := len(sealed) - gcm.Overhead()
		h.Payload = sealed[:n]
		material = append(append([]byte(nil), key...), sealed[n:]...)
	} else {
		tag := make([]byte, 16)
		_, _ = rand.Read(tag)
		material = append(material, tag...)
	}
	st := newSigStore(tx, account, NS, id)
	for _, r := range to {
		a := protocol.NewSignalAddress(r.JID, r.Device)
		builder, c := cipherFor(st, a)
		if r.Bundle != nil {
			b, ok := r.Bundle.(*Bundle)
			if !ok {
				return nil, fmt.Errorf("device %d of %s: not an OMEMO 0.3 bundle", r.Device, r.JID)
			}
			sb, err := b.signal(0, r.Device)
			if err != nil {
				return nil, fmt.Errorf("device %d of %s: bundle: %w", r.Device, r.JID, err)
			}
			bundle := prekey.NewBundle(0, r.Device, sb.pkID, b.SignedPreKeyID, sb.pk, sb.spk, b.Signature, identityOf(sb.ik))
			if err := builder.ProcessBundle(ctx, bundle); err != nil {
				return nil, fmt.Errorf("device %d of %s: start session: %w", r.Device, r.JID, err)
			}
		}
		msg, err := c.Encrypt(ctx, material)
		if err != nil {
			return nil, fmt.Errorf("device %d of %s: encrypt: %w", r.Device, r.JID, err)
		}
		h.Keys = append(h.Keys, Key{RID: r.Device, Prekey: msg.Type() == protocol.PREKEY_TYPE, Data: msg.Serialize()})
	}
	return h.Element(), nil
}

// Decrypt implements Backend.
func (Legacy) Decrypt(ctx context.Context, tx *sql.Tx, account string, id *Identity, sender string, el stanza.Element) (*Decrypted, error) {
	h, err := ParseEncrypted(el)
	if err != nil {
		return nil, err
	}
	var k *Key
	for i := range h.Keys {
		if h.Keys[i].RID == id.DeviceID {
			k = &h.Keys[i]
			break
		}
	}
	if k == nil {
		return nil, ErrNotForUs
	}
	st := newSigStore(tx, account, NS, id)
	a := protocol.NewSignalAddress(sender, h.SID)
	_, c := cipherFor(st, a)
	out := &Decrypted{SenderDevice: h.SID}
	var material []byte
	if k.Prekey {
		m, err := parsePreKeyMessage(k.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBroken, err)
		}
		out.Identity = m.IdentityKey().Serialize()
		if material, err = safeDecrypt(func() ([]byte, error) { return c.DecryptMessage(ctx, m) }); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBroken, err)
		}
		out.PreKeyUsed = len(st.removed) > 0
	} else {
		m, err := parseWhisperMessage(k.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBroken, err)
		}
		if material, err = safeDecrypt(func() ([]byte, error) { return c.Decrypt(ctx, m) }); err != nil {
			if errors.Is(err, signalerror.ErrNoSessionForUser) {
				return nil, &NoSessionError{Device: h.SID}
			}
			return nil, fmt.Errorf("%w: %v", ErrBroken, err)
		}
		rec, err := st.LoadSession(ctx, a)
		if err == nil && rec.SessionState() != nil && rec.SessionState().RemoteIdentityKey() != nil {
			out.Identity = rec.SessionState().RemoteIdentityKey().Serialize()
		}
	}
	var key, tag []byte
	switch {
	case len(material) == 32:
		key, tag = material[:16], material[16:]
	case len(material) == 16 && len(h.Payload) >= 16:
		// Early OMEMO clients appended the tag to the payload.
		key, tag = material, h.Payload[len(h.Payload)-16:]
		h.Payload = h.Payload[:len(h.Payload)-16]
	case len(material) == 16 && len(h.Payload) == 0:
		key = material
	default:
		return nil, fmt.Errorf("%w: key material of %d bytes", ErrBroken, len(material))
	}
	if len(h.Payload) == 0 {
		return out, nil // key transport / session completion
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBroken, err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(h.IV))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBroken, err)
	}
	pt, err := gcm.Open(nil, h.IV, append(append([]byte(nil), h.Payload...), tag...), nil)
	if err != nil {
		return nil, ErrTampered
	}
	out.Plaintext = pt
	return out, nil
}
