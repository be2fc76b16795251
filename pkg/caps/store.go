package caps

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Store keeps verified disco#info results on disk, one JSON file per hash
// under Dir (named after the hash function and the hash value in hex), so
// that a capability seen in an earlier run costs no query. An empty Dir
// keeps nothing. Only verified results are ever stored.
type Store struct {
	Dir string
}

type entry struct {
	Algo       string           `json:"algo"`
	Hash       string           `json:"hash"`
	Identities []disco.Identity `json:"identities"`
	Features   []string         `json:"features"`
	Forms      []disco.Form     `json:"forms,omitempty"`
}

// path returns the file for a hash, or "" when the value is not a valid
// base64 digest (it then cannot have been verified either).
func (st Store) path(algo, value string) string {
	if st.Dir == "" {
		return ""
	}
	h, err := newHash(algo)
	if err != nil {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil || len(raw) != h.Size() {
		return ""
	}
	return filepath.Join(st.Dir, algo+"-"+hex.EncodeToString(raw)+".json")
}

// Get returns the stored info for a hash, re-verified against the hash so
// that a corrupted or planted file is ignored.
func (st Store) Get(algo, value string) (*disco.Info, bool) {
	p := st.path(algo, value)
	if p == "" {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	var e entry
	if json.Unmarshal(b, &e) != nil {
		return nil, false
	}
	info := &disco.Info{Identities: e.Identities, Features: e.Features, Forms: e.Forms}
	if verify(algo, value, info) != nil {
		return nil, false
	}
	return info, true
}

// Put stores info under a hash after checking that it hashes to it.
func (st Store) Put(algo, value string, info *disco.Info) error {
	p := st.path(algo, value)
	if p == "" {
		return nil
	}
	if err := verify(algo, value, info); err != nil {
		return err
	}
	b, err := json.Marshal(entry{Algo: algo, Hash: value, Identities: info.Identities,
		Features: info.Features, Forms: info.Forms})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		return fmt.Errorf("caps cache: %w", err)
	}
	tmp, err := os.CreateTemp(st.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("caps cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("caps cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("caps cache: %w", err)
	}
	return os.Rename(tmp.Name(), p)
}

// verify checks info against a hash of either specification: sha-1 values
// are XEP-0115 vers (XEP-0390 forbids sha-1), the others XEP-0390 hashes.
func verify(algo, value string, info *disco.Info) error {
	if algo == "sha-1" {
		return Caps{Hash: algo, Ver: value}.Verify(info)
	}
	return Caps2{Hashes: []Hash{{Algo: algo, Value: value}}}.Verify(info)
}

// Status says how a Lookup's result was obtained.
type Status string

// Lookup outcomes.
const (
	Cached     Status = "cached"     // verified earlier; no query sent
	Verified   Status = "verified"   // queried now; hashes to the advertised value; stored
	Mismatch   Status = "mismatch"   // queried now; does NOT hash to it; not stored
	Unverified Status = "unverified" // queried now; nothing to verify against (legacy caps)
)

// Resolver turns advertised capabilities into disco#info, through the
// Store and a per-session memory.
type Resolver struct {
	S     conn.Session
	Store Store

	mu  sync.Mutex
	mem map[string]*disco.Info
}

// Result is what Lookup found.
type Result struct {
	Info   *disco.Info
	Status Status
	Algo   string
	Hash   string
	Err    error // the mismatch, when Status is Mismatch
}

// Lookup returns the disco#info that jid's advertised capabilities stand
// for. XEP-0390 hashes are preferred over XEP-0115. A hash seen before
// (verified) is answered from memory or the store without a query;
// otherwise jid is asked for disco#info on the capability's node (plain
// disco#info if the node is refused), the result is hashed and stored
// only when it matches.
func (r *Resolver) Lookup(ctx context.Context, jid string, c1 *Caps, c2 *Caps2) (*Result, error) {
	var algo, value, node string
	switch {
	case c2 != nil:
		h, ok := c2.Supported()
		if !ok {
			if c1 == nil {
				return nil, errors.New("no supported capability hash")
			}
			c2 = nil
			break
		}
		algo, value, node = h.Algo, strings.TrimSpace(h.Value), h.QueryNode()
	}
	if c2 == nil && c1 != nil {
		algo, value, node = c1.Hash, c1.Ver, c1.QueryNode()
	}
	if c1 == nil && c2 == nil {
		return nil, errors.New("no capabilities advertised")
	}
	key := algo + " " + value
	if info := r.remembered(key); info != nil {
		return &Result{Info: withJID(info, jid, node), Status: Cached, Algo: algo, Hash: value}, nil
	}
	if algo != "" {
		if info, ok := r.Store.Get(algo, value); ok {
			r.remember(key, info)
			return &Result{Info: withJID(info, jid, node), Status: Cached, Algo: algo, Hash: value}, nil
		}
	}
	info, err := disco.GetInfo(ctx, r.S, jid, node)
	var se *stanza.Error
	if errors.As(err, &se) && ctx.Err() == nil {
		info, err = disco.GetInfo(ctx, r.S, jid, "")
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Info: info, Algo: algo, Hash: value}
	if algo == "" {
		res.Status = Unverified
		return res, nil
	}
	if err := verify(algo, value, info); err != nil {
		res.Status, res.Err = Mismatch, err
		return res, nil
	}
	res.Status = Verified
	r.remember(key, info)
	if err := r.Store.Put(algo, value, info); err != nil {
		return res, err
	}
	return res, nil
}

func (r *Resolver) remembered(key string) *disco.Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mem[key]
}

func (r *Resolver) remember(key string, info *disco.Info) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mem == nil {
		r.mem = map[string]*disco.Info{}
	}
	r.mem[key] = info
}

func withJID(info *disco.Info, jid, node string) *disco.Info {
	c := *info
	c.JID, c.Node = jid, node
	return &c
}
