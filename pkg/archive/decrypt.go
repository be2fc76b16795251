package archive

import (
	"context"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// Decryption is what an end-to-end decrypter (pkg/omemo) made of a
// message.
type Decryption struct {
	Encrypted string // namespace of the encryption
	Body      string // plaintext
	Empty     bool   // a message without content (key transport): not stored, not shown
	SenderFP  string // fingerprint of the sending device
	Trust     string // the sending device's trust state
	Err       error  // why it could not be decrypted
}

// Decrypter decrypts m (the inner message of a carbon or archive result)
// when it is end-to-end encrypted, else returns nil. live says that the
// message arrived now (not from the archive), so protocol answers (an
// OMEMO session completion) may be sent on s. It must not be called
// inside a store transaction: it writes the store itself. realJID is the
// real JID of the sender of a groupchat message when the room showed it
// ("" when unknown, and for other messages).
type Decrypter func(ctx context.Context, s conn.Session, m *stanza.Message, live bool, realJID string) *Decryption

// Apply puts a decryption into the record: the plaintext replaces the
// fallback body, or the body is emptied and the reason kept. A message
// that could not be decrypted is still stored and shown, never dropped.
func Apply(rec *store.Message, d *Decryption) {
	if rec == nil || d == nil {
		return
	}
	rec.Encrypted, rec.SenderFP, rec.Trust = d.Encrypted, d.SenderFP, d.Trust
	rec.Body = d.Body
	if d.Err != nil {
		rec.Body = ""
		rec.DecryptError = d.Err.Error()
	}
}

// decryptResult decrypts an archive result; ok is false for an empty
// (key transport) message, which is not stored.
func decryptRecord(ctx context.Context, dec Decrypter, s conn.Session, m *stanza.Message, rec *store.Message, live bool, realJID string) bool {
	if dec == nil || m == nil {
		return true
	}
	d := dec(ctx, s, m, live, realJID)
	if d == nil {
		return true
	}
	if d.Empty && d.Err == nil {
		return false
	}
	if rec != nil && rec.DecryptError == "" {
		Apply(rec, d)
	}
	return true
}

// Decrypt applies dec to a message and its record, for callers outside
// the package (listen); ok is false when the message is an empty one to
// be processed silently.
func Decrypt(ctx context.Context, dec Decrypter, s conn.Session, m *stanza.Message, rec *store.Message, live bool) bool {
	return decryptRecord(ctx, dec, s, m, rec, live, "")
}

// DecryptRoom is Decrypt for a groupchat message whose sender's real JID
// the room showed ("" when it did not: the message is kept with the
// reason).
func DecryptRoom(ctx context.Context, dec Decrypter, s conn.Session, m *stanza.Message, rec *store.Message, live bool, realJID string) bool {
	return decryptRecord(ctx, dec, s, m, rec, live, realJID)
}
