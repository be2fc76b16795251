package cmd

// Helpers shared by the commands that write to rooms (send, upload).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/muc"
)

// roomNick is the nickname for rooms: the flag, else the config's nick,
// else the account's local part.
func roomNick(flagNick, cfgNick, account string) string {
	switch {
	case flagNick != "":
		return flagNick
	case cfgNick != "":
		return cfgNick
	}
	local, _, _ := strings.Cut(account, "@")
	return local
}

// joinRooms joins every room; rooms that refuse are reported and skipped.
func joinRooms(ctx context.Context, f *Factory, s conn.Session, rooms []string, nick, password string) ([]string, []error) {
	var ok []string
	var errs []error
	for _, room := range rooms {
		jctx, cancel := f.WithTimeout(ctx)
		err := muc.Join(jctx, s, room, nick, password)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("join %s: no answer from the room: %w", room, err)
			}
			errs = append(errs, err)
			continue
		}
		f.Infof("joined %s as %s", room, nick)
		ok = append(ok, room)
	}
	return ok, errs
}
