package cmd

// The prologue of the commands that log in for a few requests (avatar,
// nick, profile, block, bookmarks, muc, archive read/unread): log in, bound
// the requests by --timeout, and for PEP publishers check the account's
// PEP service. The bounded context is
// returned, never stored; end cancels it and logs out, and is a no-op on
// error, so callers write `defer end()` after the error check.

import (
	"context"

	"github.com/xmppctl/xmppctl/internal/config"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
)

// login resolves the account, logs it in and bounds the work by --timeout.
func (f *Factory) login(ctx context.Context) (wctx context.Context, s conn.Session, acct config.Account, end func(), err error) {
	acct, err = f.Account()
	if err != nil {
		return ctx, nil, acct, func() {}, err
	}
	wctx, s, end, err = f.loginAs(ctx, acct)
	return wctx, s, acct, end, err
}

// loginAs is login for an account already resolved.
func (f *Factory) loginAs(ctx context.Context, acct config.Account) (wctx context.Context, s conn.Session, end func(), err error) {
	s, err = f.Connect(ctx, acct, false)
	if err != nil {
		return ctx, nil, func() {}, err
	}
	wctx, cancel := f.WithTimeout(ctx)
	return wctx, s, func() { cancel(); s.Close() }, nil
}

// loginPEP is login for publishing on the account's PEP service: it
// checks the service (pepService) and returns the account's disco#info.
func (f *Factory) loginPEP(ctx context.Context) (wctx context.Context, s conn.Session, acct config.Account, info *disco.Info, end func(), err error) {
	wctx, s, acct, end, err = f.login(ctx)
	if err != nil {
		return wctx, s, acct, nil, end, err
	}
	if info, err = pepService(wctx, s); err != nil {
		end()
		return ctx, nil, acct, nil, func() {}, err
	}
	return wctx, s, acct, info, end, nil
}
