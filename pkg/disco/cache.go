package disco

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

// ErrNoService is returned when none of the server's items offers what
// was looked for.
var ErrNoService = errors.New("no such service on the server")

// Cache remembers disco#info results for one session, so that several
// lookups of the server's services cost one round of IQs.
type Cache struct {
	s     conn.Session
	mu    sync.Mutex
	info  map[[2]string]*Info
	items []Item
}

// NewCache returns an empty cache for s.
func NewCache(s conn.Session) *Cache {
	return &Cache{s: s, info: map[[2]string]*Info{}}
}

// Info returns disco#info of jid/node, asking once.
func (c *Cache) Info(ctx context.Context, jid, node string) (*Info, error) {
	key := [2]string{jid, node}
	c.mu.Lock()
	info := c.info[key]
	c.mu.Unlock()
	if info != nil {
		return info, nil
	}
	info, err := GetInfo(ctx, c.s, jid, node)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.info[key] = info
	c.mu.Unlock()
	return info, nil
}

// Services returns disco#info of every item of the account's server, the
// queries sent in parallel. Items that fail to answer are skipped.
func (c *Cache) Services(ctx context.Context) ([]*Info, error) {
	c.mu.Lock()
	items := c.items
	c.mu.Unlock()
	if items == nil {
		var err error
		items, err = GetItems(ctx, c.s, c.s.Domain(), "")
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.items = items
		c.mu.Unlock()
	}
	out := make([]*Info, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		if it.Node != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], _ = c.Info(ctx, it.JID, "")
		}()
	}
	wg.Wait()
	var res []*Info
	for _, info := range out {
		if info != nil {
			res = append(res, info)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// ServiceWithFeature returns the first server item advertising feature.
func (c *Cache) ServiceWithFeature(ctx context.Context, feature string) (*Info, error) {
	return c.find(ctx, func(i *Info) bool { return i.HasFeature(feature) })
}

// ServiceOfType returns the first server item with the identity.
func (c *Cache) ServiceOfType(ctx context.Context, category, typ string) (*Info, error) {
	return c.find(ctx, func(i *Info) bool { return i.HasIdentity(category, typ) })
}

func (c *Cache) find(ctx context.Context, pred func(*Info) bool) (*Info, error) {
	svcs, err := c.Services(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range svcs {
		if pred(s) {
			return s, nil
		}
	}
	return nil, ErrNoService
}

// ServicesWithFeature returns every server item advertising feature (a
// server may run several MUC services, say), in the server's order.
func (c *Cache) ServicesWithFeature(ctx context.Context, feature string) ([]*Info, error) {
	svcs, err := c.Services(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Info
	for _, s := range svcs {
		if s.HasFeature(feature) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Server returns disco#info of the account's server.
func (c *Cache) Server(ctx context.Context) (*Info, error) {
	return c.Info(ctx, c.s.Domain(), "")
}

// Account returns disco#info of the account's bare JID, where the server
// answers for PEP, MAM and push on the user's behalf.
func (c *Cache) Account(ctx context.Context) (*Info, error) {
	bare, _, _ := strings.Cut(c.s.JID(), "/")
	return c.Info(ctx, bare, "")
}
