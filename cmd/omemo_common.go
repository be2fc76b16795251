package cmd

import (
	"context"
	"fmt"
	"sync"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/archive"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/muc"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/outbox"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// omemoPolicy is --trust, else omemo_trust from the config, else btbv.
func omemoPolicy(acct config.Account, flag string) (omemo.Policy, error) {
	v := flag
	if v == "" {
		v = acct.OMEMOTrust
	}
	p, err := omemo.ParsePolicy(v)
	if err != nil {
		if flag != "" {
			return "", usageErrorf("%v", err)
		}
		return "", &config.Error{Msg: err.Error()}
	}
	return p, nil
}

// openOMEMO opens the local store and the account's OMEMO device in it
// (created on first use). The returned func closes the store.
func openOMEMO(ctx context.Context, f *Factory, acct config.Account, p omemo.Policy) (*omemo.Client, func(), error) {
	st, err := store.Open(ctx, f.DataDir())
	if err != nil {
		return nil, nil, fmt.Errorf("omemo: %w", err)
	}
	c, err := omemo.Open(ctx, st, acct.JID, p)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	c.Warn = f.Warnf
	return c, func() { st.Close() }, nil
}

// omemoDecrypter opens the account's OMEMO device for listen and archive
// sync: incoming OMEMO messages are decrypted into the local archive. The
// device is created if needed but published only when publish is set
// (config omemo = true): a listener that never asked for OMEMO does not
// add a device to the account's list.
func omemoDecrypter(ctx context.Context, f *Factory, st *store.Store, acct config.Account) (archive.Decrypter, func(ctx context.Context, s conn.Session) error, error) {
	p, err := omemoPolicy(acct, "")
	if err != nil {
		return nil, nil, err
	}
	oc, err := omemo.Open(ctx, st, acct.JID, p)
	if err != nil {
		return nil, nil, err
	}
	oc.Warn = f.Warnf
	dec := func(ctx context.Context, s conn.Session, m *stanza.Message, live bool, realJID string) *archive.Decryption {
		r := oc.DecryptFrom(ctx, s, m, live, realJID)
		if r == nil {
			return nil
		}
		return &archive.Decryption{Encrypted: r.Version, Body: r.Body, Empty: r.Empty, SenderFP: r.Fingerprint,
			Trust: string(r.Trust), Err: r.Err}
	}
	publish := func(ctx context.Context, s conn.Session) error {
		if !acct.OMEMO {
			return nil
		}
		return oc.Publish(ctx, s)
	}
	return dec, publish, nil
}

// omemoRooms checks each room once per run: OMEMO only in non-anonymous,
// members-only rooms, encrypted to the member list.
type omemoRooms struct {
	f    *Factory
	seen map[string]roomMembers
}

type roomMembers struct {
	jids []string
	err  error
}

func newOMEMORooms(f *Factory) *omemoRooms {
	return &omemoRooms{f: f, seen: map[string]roomMembers{}}
}

func (r *omemoRooms) members(ctx context.Context, s conn.Session, room string) ([]string, error) {
	if m, ok := r.seen[room]; ok {
		return m.jids, m.err
	}
	var m roomMembers
	qctx, cancel := r.f.WithTimeout(ctx)
	defer cancel()
	ok, why, err := muc.Private(qctx, s, room)
	switch {
	case err != nil:
		m.err = err
	case !ok:
		m.err = &omemo.RoomError{Room: room, Reason: "the room is " + why}
	default:
		m.jids, m.err = muc.Members(qctx, s, room)
	}
	r.seen[room] = m
	return m.jids, m.err
}

// omemoSealer makes an outbox encrypt every message with OMEMO: to each
// recipient's trusted devices (and the account's other devices), or in a
// room to every member's. A recipient it cannot encrypt for fails and gets
// nothing; the outbox never falls back to clear text.
type omemoSealer struct {
	f      *Factory
	acct   config.Account
	policy omemo.Policy
}

// attach opens the account's OMEMO device and sets ob's Seal; the returned
// func closes the device's store.
func (o *omemoSealer) attach(ctx context.Context, ob *outbox.Outbox) (func(), error) {
	oc, closeOMEMO, err := openOMEMO(ctx, o.f, o.acct, o.policy)
	if err != nil {
		return nil, err
	}
	ob.Encryption = omemo.NS
	rooms := newOMEMORooms(o.f)
	ob.Seal = func(ctx context.Context, to string, m *stanza.Message) error {
		s := ob.Session() // the current one, after reconnections
		var err error
		if m.Type == stanza.GroupChatMessage {
			var members []string
			if members, err = rooms.members(ctx, s, to); err == nil {
				err = oc.SealGroup(ctx, s, m, members)
			}
		} else {
			err = oc.SealMessage(ctx, s, m)
		}
		if err != nil {
			return err
		}
		ob.Encryption = omemo.SealedWith(m) // the versions this message used
		return nil
	}
	return closeOMEMO, nil
}

// omemoArchiveDecrypter is omemoDecrypter for archive sync, which opens
// the OMEMO device only at the first encrypted message: until then no
// message needs it, and a first sync into a new data dir made the device
// (an identity key and a hundred prekeys per OMEMO version: 17 ms of a
// 10,000-message sync's 0.5 s of CPU, issue 16) without a single message
// that could be encrypted to it. A device that cannot be opened then is
// each encrypted message's decryption error, as any other failure to
// decrypt (the message is stored with the reason, never dropped).
func omemoArchiveDecrypter(f *Factory, st *store.Store, acct config.Account) (archive.Decrypter, error) {
	if _, err := omemoPolicy(acct, ""); err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		dec  archive.Decrypter
		oerr error
	)
	return func(ctx context.Context, s conn.Session, m *stanza.Message, live bool, realJID string) *archive.Decryption {
		ns := omemo.EncryptedWith(m)
		if ns == "" {
			return nil
		}
		mu.Lock()
		if dec == nil && oerr == nil {
			dec, _, oerr = omemoDecrypter(ctx, f, st, acct)
		}
		d, err := dec, oerr
		mu.Unlock()
		if err != nil {
			return &archive.Decryption{Encrypted: ns, Err: fmt.Errorf("omemo: %w", err)}
		}
		return d(ctx, s, m, live, realJID)
	}, nil
}
