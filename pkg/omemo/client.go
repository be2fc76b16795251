package omemo

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// Client is the account's OMEMO device on the local store. It is used by
// one command at a time (no internal locking: commands are sequential).
type Client struct {
	st       *store.Store
	account  string
	policy   Policy
	now      func() time.Time
	backends []Backend // newest version first
	id       *Identity

	published bool                           // this run made sure our device is published
	repaired  map[string]bool                // devices whose broken session this run repaired
	lists     map[string]map[string][]uint32 // version → bare JID → ids fetched this run
	// Warn, when set, receives problems that do not fail the operation
	// (a device whose bundle cannot be fetched).
	Warn func(format string, args ...any)
}

// Open loads the account's identity, creating it (and its keys) on first
// use. The store must stay open while the Client is used.
func Open(ctx context.Context, st *store.Store, account string, p Policy) (*Client, error) {
	c := &Client{st: st, account: store.Bare(account), policy: p, now: time.Now,
		backends: []Backend{Twomemo{}, Legacy{}}, lists: map[string]map[string][]uint32{}}
	err := update(ctx, st, func(tx *sql.Tx) error {
		id, ok, err := loadIdentity(ctx, tx, c.account)
		if err != nil {
			return err
		}
		if !ok {
			if id, err = createIdentity(ctx, tx, c.account, c.now()); err != nil {
				return err
			}
		}
		c.id = id
		for _, b := range c.backends {
			if _, err := b.EnsureKeys(ctx, tx, c.account, id, c.now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AddBackend registers another protocol version (see doc.go); newer
// versions are added last and preferred.
func (c *Client) AddBackend(ctx context.Context, b Backend) error {
	c.backends = append([]Backend{b}, c.backends...)
	return update(ctx, c.st, func(tx *sql.Tx) error {
		_, err := b.EnsureKeys(ctx, tx, c.account, c.id, c.now())
		return err
	})
}

// Identity is the account's device.
func (c *Client) Identity() *Identity { return c.id }

// Policy is the trust policy in force.
func (c *Client) Policy() Policy { return c.policy }

func (c *Client) backend(version string) Backend {
	for _, b := range c.backends {
		if b.Version() == version {
			return b
		}
	}
	return nil
}

// Publish makes sure the account's device is in each version's device
// list (read-modify-write: the account's other devices stay) and that its
// current bundle is published. Once per Client.
func (c *Client) Publish(ctx context.Context, s conn.Session) error {
	if c.published {
		return nil
	}
	for _, b := range c.backends {
		ids, err := b.FetchDevices(ctx, s, "")
		if err != nil {
			return fmt.Errorf("omemo: read own device list: %w", err)
		}
		if !slices.Contains(ids, c.id.DeviceID) {
			ids = append(ids, c.id.DeviceID)
			if err := b.PublishDevices(ctx, s, ids); err != nil {
				return fmt.Errorf("omemo: publish device list: %w", err)
			}
		}
		c.setList(b.Version(), c.account, ids)
		if err := c.publishBundle(ctx, s, b, false); err != nil {
			return err
		}
	}
	c.published = true
	return nil
}

// publishBundle publishes b's bundle when the store says it changed since
// the last publication (or always with force).
func (c *Client) publishBundle(ctx context.Context, s conn.Session, b Backend, force bool) error {
	var item any
	err := update(ctx, c.st, func(tx *sql.Tx) error {
		done, err := getMeta(ctx, tx, c.account, b.Version(), "bundle_published")
		if err != nil || (done != "" && !force) {
			return err
		}
		item, err = b.OwnBundle(ctx, tx, c.account, c.id)
		return err
	})
	if err != nil || item == nil {
		return err
	}
	if err := b.PublishBundle(ctx, s, c.id.DeviceID, item); err != nil {
		return fmt.Errorf("omemo: publish bundle: %w", err)
	}
	return update(ctx, c.st, func(tx *sql.Tx) error {
		return setMeta(ctx, tx, c.account, b.Version(), "bundle_published", c.now().UTC().Format(time.RFC3339))
	})
}

func (c *Client) setList(version, jid string, ids []uint32) {
	if c.lists[version] == nil {
		c.lists[version] = map[string][]uint32{}
	}
	c.lists[version][jid] = ids
}

// refresh fetches jid's device lists of every version (once per run) and
// records them.
func (c *Client) refresh(ctx context.Context, s conn.Session, jid string) error {
	for _, b := range c.backends {
		if _, ok := c.lists[b.Version()][jid]; ok && jid != c.account {
			continue
		}
		ids, ok := c.lists[b.Version()][jid]
		if !ok {
			var err error
			if ids, err = b.FetchDevices(ctx, s, jid); err != nil {
				return fmt.Errorf("omemo: device list of %s: %w", jid, err)
			}
			c.setList(b.Version(), jid, ids)
		}
		if jid == c.account {
			ids = slices.DeleteFunc(slices.Clone(ids), func(id uint32) bool { return id == c.id.DeviceID })
		}
		err := update(ctx, c.st, func(tx *sql.Tx) error {
			return updateDeviceList(ctx, tx, c.account, b.Version(), jid, ids, c.policy, c.now())
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// NoDeviceError says that a recipient cannot get an encrypted message:
// nothing is sent to it, never a plaintext copy.
type NoDeviceError struct {
	JID    string
	Reason string
}

func (e *NoDeviceError) Error() string {
	return fmt.Sprintf("no OMEMO message to %s: %s", e.JID, e.Reason)
}

// Hint names the command that shows the recipient's devices.
func (e *NoDeviceError) Hint() string { return "xmppctl omemo devices " + e.JID }

// Seal encrypts plaintext for every usable device of to (a bare JID) and
// of the account's other devices, and returns the payloads of the
// message: the <encrypted/> elements, the EME hint and the store hint. The
// caller sends them with FallbackBody as the body. A recipient without a
// usable trusted device gets a *NoDeviceError.
func (c *Client) Seal(ctx context.Context, s conn.Session, to string, plaintext []byte) ([]any, error) {
	to = store.Bare(to)
	ctx = withAddressing(ctx, c.account, to, false)
	if err := c.Publish(ctx, s); err != nil {
		return nil, err
	}
	if err := c.refresh(ctx, s, to); err != nil {
		return nil, err
	}
	if to != c.account {
		if err := c.refresh(ctx, s, c.account); err != nil {
			return nil, err
		}
	}
	peer, err := c.targets(ctx, s, to)
	if err != nil {
		return nil, err
	}
	if len(peer) == 0 {
		return nil, &NoDeviceError{JID: to, Reason: c.whyNone(ctx, to)}
	}
	var own []target
	if to != c.account {
		if own, err = c.targets(ctx, s, c.account); err != nil {
			return nil, err
		}
	}
	return c.encrypt(ctx, append(peer, own...), plaintext)
}

type target struct {
	backend Backend
	Recipient
}

// targets returns jid's usable devices, each in the newest version that
// lists it, with a bundle fetched for those without a session.
func (c *Client) targets(ctx context.Context, s conn.Session, jid string) ([]target, error) {
	var out []target
	taken := map[uint32]bool{}
	for _, b := range c.backends {
		var devs []Device
		err := update(ctx, c.st, func(tx *sql.Tx) error {
			var err error
			devs, err = loadDevices(ctx, tx, c.account, b.Version(), jid)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			if !d.Active || taken[d.ID] || (jid == c.account && d.ID == c.id.DeviceID) || !d.Trust.Usable(c.policy) {
				continue
			}
			t := target{backend: b, Recipient: Recipient{JID: jid, Device: d.ID}}
			var has bool
			err := update(ctx, c.st, func(tx *sql.Tx) error {
				var err error
				has, err = b.HasSession(ctx, tx, c.account, c.id, jid, d.ID)
				return err
			})
			if err != nil {
				return nil, err
			}
			if !has {
				bundle, err := b.FetchBundle(ctx, s, jid, d.ID)
				if err != nil {
					c.warn("skipping device %d of %s: %v", d.ID, jid, err)
					continue
				}
				if d.Identity != nil && !bytes.Equal(d.Identity, bundle.Identity()) {
					c.warn("skipping device %d of %s: its identity key changed", d.ID, jid)
					continue
				}
				if d.Identity == nil {
					err := update(ctx, c.st, func(tx *sql.Tx) error {
						_, err := seeDevice(ctx, tx, c.account, b.Version(), jid, d.ID, bundle.Identity(), c.policy, c.now())
						return err
					})
					if err != nil {
						return nil, err
					}
				}
				t.Bundle = bundle
			}
			taken[d.ID] = true
			out = append(out, t)
		}
	}
	return out, nil
}

func (c *Client) warn(format string, args ...any) {
	if c.Warn != nil {
		c.Warn(format, args...)
	}
}

// whyNone explains why jid has no usable device.
func (c *Client) whyNone(ctx context.Context, jid string) string {
	var devs []Device
	_ = update(ctx, c.st, func(tx *sql.Tx) error {
		var err error
		devs, err = loadDevices(ctx, tx, c.account, "", jid)
		return err
	})
	active, untrusted := 0, 0
	for _, d := range devs {
		if !d.Active {
			continue
		}
		active++
		if !d.Trust.Usable(c.policy) {
			untrusted++
		}
	}
	switch {
	case active == 0:
		return "it publishes no OMEMO device"
	case untrusted == active && c.policy == PolicyManual:
		return fmt.Sprintf("none of its %d device(s) is verified (trust policy manual)", active)
	case untrusted == active:
		return fmt.Sprintf("none of its %d device(s) is trusted", active)
	}
	return fmt.Sprintf("none of its %d trusted device(s) has a usable bundle", active-untrusted)
}

// encrypt runs every backend over its devices in one transaction (the
// ratchet steps commit before the message is sent).
func (c *Client) encrypt(ctx context.Context, ts []target, plaintext []byte) ([]any, error) {
	var out []any
	err := update(ctx, c.st, func(tx *sql.Tx) error {
		out = out[:0]
		for _, b := range c.backends {
			var rs []Recipient
			for _, t := range ts {
				if t.backend == b {
					rs = append(rs, t.Recipient)
				}
			}
			if len(rs) == 0 {
				continue
			}
			el, err := b.Encrypt(ctx, tx, c.account, c.id, plaintext, rs)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if err := resetReceived(ctx, tx, c.account, b.Version(), r.JID, r.Device); err != nil {
					return err
				}
			}
			out = append(out, el, EME{Namespace: b.Version(), Name: "OMEMO"})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("omemo: %w", err)
	}
	return append(out, StoreHint{}), nil
}

// Fingerprints are compared without spaces.
func fpKey(s string) string { return strings.ReplaceAll(s, " ", "") }

var errNoMatch = errors.New("no device with that fingerprint")

// SealMessage encrypts m's body for its recipient (see Seal) and turns m
// into the message to send: the fallback body, the OMEMO payloads next to
// m's own (origin-id, receipt request). m's subject must be empty: it
// would travel in clear.
func (c *Client) SealMessage(ctx context.Context, s conn.Session, m *stanza.Message) error {
	if m.Subject != "" {
		return errors.New("omemo: a subject would be sent in clear")
	}
	payloads, err := c.Seal(ctx, s, m.To, []byte(m.Body))
	if err != nil {
		return err
	}
	m.Body = FallbackBody
	m.Payload = append(m.Payload, payloads...)
	return nil
}

// RoomError refuses OMEMO in a room whose readers cannot all be known.
type RoomError struct {
	Room   string
	Reason string
}

func (e *RoomError) Error() string {
	return fmt.Sprintf("no OMEMO message to room %s: %s", e.Room, e.Reason)
}

// Hint says what would make the room usable.
func (e *RoomError) Hint() string {
	return "OMEMO in rooms needs a non-anonymous, members-only room; or send without --omemo"
}

// SealGroup encrypts a groupchat message to every usable device of every
// member (bare JIDs from the room's member list) and of the account's
// other devices. A member without a usable device fails the whole message
// (*NoDeviceError naming the member): the room never gets text some member
// could read in clear, nor text a member cannot read.
func (c *Client) SealGroup(ctx context.Context, s conn.Session, m *stanza.Message, members []string) error {
	if m.Subject != "" {
		return errors.New("omemo: a subject would be sent in clear")
	}
	if err := c.Publish(ctx, s); err != nil {
		return err
	}
	var all []target
	for _, jid := range members {
		jid = store.Bare(jid)
		if jid == c.account {
			continue
		}
		if err := c.refresh(ctx, s, jid); err != nil {
			return err
		}
		ts, err := c.targets(ctx, s, jid)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			return &NoDeviceError{JID: jid, Reason: c.whyNone(ctx, jid) + " (member of " + store.Bare(m.To) + ")"}
		}
		all = append(all, ts...)
	}
	if err := c.refresh(ctx, s, c.account); err != nil {
		return err
	}
	own, err := c.targets(ctx, s, c.account)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return &RoomError{Room: store.Bare(m.To), Reason: "it has no other members"}
	}
	ctx = withAddressing(ctx, c.account, store.Bare(m.To), true)
	payloads, err := c.encrypt(ctx, append(all, own...), []byte(m.Body))
	if err != nil {
		return err
	}
	m.Body = FallbackBody
	m.Payload = append(m.Payload, payloads...)
	return nil
}
