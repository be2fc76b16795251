package cmd

import (
	"context"
	"fmt"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/omemo"
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
