package omemo

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// Devices returns jid's devices (the account's own, ours included, for ""
// or the account). With s set, the device lists are fetched first and
// bundles of devices whose identity is not known yet, so that every
// active device shows its fingerprint.
func (c *Client) Devices(ctx context.Context, s conn.Session, jid string) ([]Device, error) {
	if jid == "" {
		jid = c.account
	}
	jid = store.Bare(jid)
	if s != nil {
		if err := c.refresh(ctx, s, jid); err != nil {
			return nil, err
		}
	}
	var devs []Device
	load := func() error {
		return update(ctx, c.st, func(tx *sql.Tx) error {
			var err error
			devs, err = loadDevices(ctx, tx, c.account, "", jid)
			return err
		})
	}
	if err := load(); err != nil {
		return nil, err
	}
	if s != nil {
		fetched := false
		for _, d := range devs {
			b := c.backend(d.Version)
			if d.Identity != nil || !d.Active || b == nil {
				continue
			}
			bundle, err := b.FetchBundle(ctx, s, jid, d.ID)
			if err != nil {
				c.warn("device %d of %s: %v", d.ID, jid, err)
				continue
			}
			err = update(ctx, c.st, func(tx *sql.Tx) error {
				_, err := seeDevice(ctx, tx, c.account, d.Version, jid, d.ID, bundle.Identity(), c.policy, c.now())
				return err
			})
			if err != nil {
				return nil, err
			}
			fetched = true
		}
		if fetched {
			if err := load(); err != nil {
				return nil, err
			}
		}
	}
	if jid == c.account {
		var own []Device // this device, once per version it speaks
		for _, b := range c.backends {
			own = append(own, Device{Version: b.Version(), JID: jid, ID: c.id.DeviceID, Identity: c.id.PublicKey(),
				Trust: TrustVerified, Active: true, FirstSeen: c.id.Created, LastSeen: c.now().UTC(), Own: true})
		}
		devs = slices.DeleteFunc(devs, func(d Device) bool { return d.ID == c.id.DeviceID })
		devs = append(own, devs...)
	}
	return devs, nil
}

// SetTrust gives every device of jid whose identity has one of the
// fingerprints the trust t (verified or distrusted). Each fingerprint
// must match a known device; none is changed otherwise.
func (c *Client) SetTrust(ctx context.Context, jid string, fingerprints []string, t Trust) ([]Device, error) {
	jid = store.Bare(jid)
	var changed []Device
	err := update(ctx, c.st, func(tx *sql.Tx) error {
		devs, err := loadDevices(ctx, tx, c.account, "", jid)
		if err != nil {
			return err
		}
		for _, fp := range fingerprints {
			want := NormalizeFingerprint(fp)
			if want == "" {
				return fmt.Errorf("%q is not a fingerprint (64 hex digits)", fp)
			}
			found := false
			for _, d := range devs {
				if fpKey(d.Fingerprint()) != want {
					continue
				}
				found = true
				if _, err := tx.ExecContext(ctx, `UPDATE omemo_devices SET trust=? WHERE account=? AND version=? AND jid=? AND device=?`,
					string(t), c.account, d.Version, jid, d.ID); err != nil {
					return fmt.Errorf("omemo: set trust: %w", err)
				}
				d.Trust = t
				changed = append(changed, d)
			}
			if !found {
				return fmt.Errorf("%s: %w %s (see xmppctl omemo devices %s)", jid, errNoMatch, fp, jid)
			}
		}
		return nil
	})
	return changed, err
}

// Gone returns the account's own devices (other than this one) that are
// in a device list but publish no bundle: devices that were reset or
// uninstalled without cleaning up, which senders still encrypt to.
func (c *Client) Gone(ctx context.Context, s conn.Session) (map[string][]uint32, error) {
	out := map[string][]uint32{}
	for _, b := range c.backends {
		ids, err := b.FetchDevices(ctx, s, "")
		if err != nil {
			return nil, fmt.Errorf("omemo: read own device list: %w", err)
		}
		for _, id := range ids {
			if id == c.id.DeviceID {
				continue
			}
			if _, err := b.FetchBundle(ctx, s, c.account, id); err != nil {
				out[b.Version()] = append(out[b.Version()], id)
			}
		}
	}
	return out, nil
}

// Remove republishes the account's device lists without the given ids
// (read-modify-write; this device always stays).
func (c *Client) Remove(ctx context.Context, s conn.Session, gone map[string][]uint32) error {
	for _, b := range c.backends {
		drop := gone[b.Version()]
		if len(drop) == 0 {
			continue
		}
		ids, err := b.FetchDevices(ctx, s, "")
		if err != nil {
			return fmt.Errorf("omemo: read own device list: %w", err)
		}
		keep := slices.DeleteFunc(ids, func(id uint32) bool { return id != c.id.DeviceID && slices.Contains(drop, id) })
		if !slices.Contains(keep, c.id.DeviceID) {
			keep = append(keep, c.id.DeviceID)
		}
		if err := b.PublishDevices(ctx, s, keep); err != nil {
			return fmt.Errorf("omemo: publish device list: %w", err)
		}
		c.setList(b.Version(), c.account, keep)
	}
	return nil
}
