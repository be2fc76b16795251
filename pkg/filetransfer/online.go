package filetransfer

import (
	"context"
	"fmt"
	"sort"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Online asks the server for the presence of the bare JID and collects
// its available resources (full JIDs, sorted) for at most wait, or until
// no new presence came for half a second after the first.
func Online(ctx context.Context, s conn.Session, bare string, wait time.Duration) ([]string, error) {
	sub := s.Subscribe()
	defer sub.Close()
	if err := s.Send(ctx, stanza.Presence{Type: stanza.ProbePresence, To: bare}); err != nil {
		return nil, err
	}
	want, err := jid.Parse(bare)
	if err != nil {
		return nil, fmt.Errorf("probe %q: %w", bare, err)
	}
	want = want.Bare()
	seen := map[string]bool{}
	deadline := time.Now().Add(wait)
	quiet := 500 * time.Millisecond
	for {
		wait := time.Until(deadline)
		if len(seen) > 0 {
			wait = min(wait, quiet)
		}
		if wait <= 0 {
			break
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		st, err := sub.Next(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			break
		}
		p, ok := st.(*stanza.Presence)
		if !ok {
			continue
		}
		from, err := jid.Parse(p.From)
		if err != nil || from.Resourcepart() == "" || !from.Bare().Equal(want) {
			continue
		}
		switch p.Type {
		case stanza.AvailablePresence:
			seen[p.From] = true
		case stanza.UnavailablePresence:
			delete(seen, p.From)
		}
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out, nil
}
