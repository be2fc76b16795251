package omemo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// Result is the outcome of decrypting one message.
type Result struct {
	Version     string // namespace of the encryption
	Body        string // the plaintext ("" when Err is set or the message was empty)
	Empty       bool   // a key transport message: nothing to show
	Device      uint32 // sender device
	Fingerprint string // of the sender device's identity key
	Trust       Trust  // of the sender device
	Err         error  // why it could not be decrypted
}

// Find returns the OMEMO element of a message that one of the backends
// reads, if any.
func (c *Client) find(m *stanza.Message) (Backend, stanza.Element, bool) {
	for _, b := range c.backends {
		if el, ok := stanza.Find(m.Ext, b.Version(), "encrypted"); ok {
			return b, el, true
		}
	}
	return nil, stanza.Element{}, false
}

// IsEncrypted reports whether m carries an OMEMO element of any version
// the package knows.
func IsEncrypted(m *stanza.Message) bool { return EncryptedWith(m) != "" }

// EncryptedWith returns the namespace of the OMEMO version m is encrypted
// with, the newer one first as Decrypt takes it; "" when it is not.
func EncryptedWith(m *stanza.Message) string {
	for _, ns := range []string{NS2, NS} {
		if _, ok := stanza.Find(m.Ext, ns, "encrypted"); ok {
			return ns
		}
	}
	return ""
}

// Decrypt decrypts an OMEMO message (m is the inner message of a carbon
// or archive result); nil when m is not OMEMO-encrypted. A message that
// started a session with one of our prekeys makes the Client replace that
// prekey, republish the bundle and, when live is set and s is not nil,
// answer with an empty message so that the sender's session is complete.
// Failures are in Result.Err, never dropped.
func (c *Client) Decrypt(ctx context.Context, s conn.Session, m *stanza.Message, live bool) *Result {
	return c.DecryptFrom(ctx, s, m, live, "")
}

// ErrRealJIDUnknown: a group chat message whose sender's real JID the
// room did not show (an anonymous room, or an occupant whose presence we
// have not seen). OMEMO sessions belong to real JIDs, so it cannot be
// decrypted; the message is still stored and shown with this reason.
var ErrRealJIDUnknown = errors.New("sender's real JID unknown")

// DecryptFrom is Decrypt for a message whose sender is known by another
// JID than its from: realJID is the real JID of a room occupant (from its
// presence in a non-anonymous room) for a groupchat message, "" when
// unknown. It is ignored for other messages.
func (c *Client) DecryptFrom(ctx context.Context, s conn.Session, m *stanza.Message, live bool, realJID string) *Result {
	b, el, ok := c.find(m)
	if !ok {
		return nil
	}
	res := &Result{Version: b.Version()}
	sender, from, to := messageSender(m, realJID, c.account)
	if sender == "" {
		res.Err = ErrRealJIDUnknown
		return res
	}
	if h, err := ParseEncrypted(el); b.Version() == NS && err == nil && sender == c.account && h.SID == c.id.DeviceID {
		res.Err = errors.New("sent by this device (a sender keeps no copy it can decrypt)")
		res.Device = h.SID
		return res
	}
	ctx = withAddressing(ctx, from, to, m.Type == stanza.GroupChatMessage)
	var d *Decrypted
	var changed, heartbeat bool
	err := update(ctx, c.st, func(tx *sql.Tx) error {
		var err error
		d, err = b.Decrypt(ctx, tx, c.account, c.id, sender, el)
		if err != nil {
			return err
		}
		t, err := seeDevice(ctx, tx, c.account, b.Version(), sender, d.SenderDevice, d.Identity, c.policy, c.now())
		if err != nil {
			return err
		}
		res.Trust, res.Device = t, d.SenderDevice
		if len(d.Identity) == publicKeyLen {
			res.Fingerprint = Fingerprint(d.Identity[1:])
		}
		if d.PreKeyUsed {
			if changed, err = b.EnsureKeys(ctx, tx, c.account, c.id, c.now()); err != nil {
				return err
			}
		}
		if live && d.Plaintext != nil {
			heartbeat, err = countReceived(ctx, tx, c.account, b.Version(), sender, d.SenderDevice)
		}
		return err
	})
	if err != nil {
		res.Err = err
		var ns *NoSessionError
		if errors.As(err, &ns) && live && s != nil {
			c.repair(ctx, s, b, sender, ns.Device)
		}
		return res
	}
	res.Empty = d.Plaintext == nil
	res.Body = string(d.Plaintext)
	if heartbeat && s != nil && !d.PreKeyUsed {
		// Many messages received, none sent: an empty message moves the
		// ratchet forward (forward secrecy), as python-omemo does.
		if err := c.completeSession(ctx, s, b, sender, d.SenderDevice); err != nil {
			c.warn("could not send the OMEMO heartbeat to device %d of %s: %v", d.SenderDevice, sender, err)
		}
	}
	if d.PreKeyUsed && s != nil {
		if changed {
			if err := c.publishBundle(ctx, s, b, true); err != nil {
				c.warn("%v", err)
			}
		}
		if live {
			if err := c.completeSession(ctx, s, b, sender, d.SenderDevice); err != nil {
				c.warn("could not complete the OMEMO session with device %d of %s: %v", d.SenderDevice, sender, err)
			}
		}
	}
	return res
}

// completeSession sends an empty OMEMO message to the device that started
// a session with us, so that its next messages no longer carry the key
// exchange (what python-omemo and Conversations do).
func (c *Client) completeSession(ctx context.Context, s conn.Session, b Backend, jid string, device uint32) error {
	var el any
	err := update(ctx, c.st, func(tx *sql.Tx) error {
		var err error
		el, err = b.Encrypt(ctx, tx, c.account, c.id, nil, []Recipient{{JID: jid, Device: device}})
		if err != nil {
			return err
		}
		return resetReceived(ctx, tx, c.account, b.Version(), jid, device)
	})
	if err != nil {
		return err
	}
	m := stanza.Message{ID: conn.NewID(), To: jid, Type: stanza.ChatMessage}
	m.Payload = []any{el, StoreHint{}}
	return s.Send(ctx, m)
}

// repair starts a new session with a device whose message came on a
// session we do not have, and sends it an empty message on it (once per
// device and run: a flood of such messages costs one bundle fetch).
func (c *Client) repair(ctx context.Context, s conn.Session, b Backend, jid string, device uint32) {
	key := fmt.Sprintf("%s %s %d", b.Version(), jid, device)
	if c.repaired == nil {
		c.repaired = map[string]bool{}
	}
	if c.repaired[key] {
		return
	}
	c.repaired[key] = true
	bundle, err := b.FetchBundle(ctx, s, jid, device)
	if err != nil {
		c.warn("cannot repair the OMEMO session with device %d of %s: %v", device, jid, err)
		return
	}
	var el any
	err = update(ctx, c.st, func(tx *sql.Tx) error {
		if _, err := seeDevice(ctx, tx, c.account, b.Version(), jid, device, bundle.Identity(), c.policy, c.now()); err != nil {
			return err
		}
		var err error
		el, err = b.Encrypt(ctx, tx, c.account, c.id, nil, []Recipient{{JID: jid, Device: device, Bundle: bundle}})
		return err
	})
	if err == nil {
		m := stanza.Message{ID: conn.NewID(), To: jid, Type: stanza.ChatMessage, Payload: []any{el, StoreHint{}}}
		err = s.Send(ctx, m)
	}
	if err != nil {
		c.warn("cannot repair the OMEMO session with device %d of %s: %v", device, jid, err)
	}
}

// HeartbeatAfter is how many messages from a device without an answer make
// us send it an empty message (python-omemo's number).
const HeartbeatAfter = 53

// countReceived counts a message received from a device since we last
// encrypted to it; it reports (and resets the count) when a heartbeat is
// due.
func countReceived(ctx context.Context, tx *sql.Tx, account, version, jid string, device uint32) (bool, error) {
	key := fmt.Sprintf("rx %s %d", jid, device)
	v, err := getMeta(ctx, tx, account, version, key)
	if err != nil {
		return false, err
	}
	n, _ := strconv.Atoi(v)
	n++
	due := n >= HeartbeatAfter
	if due {
		n = 0
	}
	return due, setMeta(ctx, tx, account, version, key, strconv.Itoa(n))
}

// resetReceived forgets the count of a device we are encrypting to.
func resetReceived(ctx context.Context, tx *sql.Tx, account, version, jid string, device uint32) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM omemo_meta WHERE account=? AND version=? AND key=?`,
		account, version, fmt.Sprintf("rx %s %d", jid, device))
	return err
}

// messageSender picks the JID whose sessions decrypt m and the addressing
// the OMEMO 2 envelope is checked against. A direct message is from its
// sender's bare JID (the account when from is empty: a sent carbon or an
// archived copy), to its recipient. A group chat message is from the
// occupant's real bare JID (sender "" when unknown) to the room: the
// room's occupant JID says nothing about whose sessions to use.
func messageSender(m *stanza.Message, realJID, account string) (sender, from, to string) {
	if m.Type == stanza.GroupChatMessage {
		sender = store.Bare(realJID)
		return sender, sender, store.Bare(m.From)
	}
	sender = store.Bare(m.From)
	if sender == "" {
		sender = account
	}
	return sender, store.Bare(m.From), store.Bare(m.To)
}
