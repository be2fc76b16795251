package conn

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Identity is what makes this installation recognisable to the server and
// nothing more: a random resource for classic binding and a random UUIDv4
// for the SASL2 user-agent id (the server picks the resource with Bind2).
type Identity struct {
	Resource    string `json:"resource"`
	UserAgentID string `json:"user_agent_id"`
}

// LoadIdentity reads the identity stored in dir, creating it once.
func LoadIdentity(dir string) (Identity, error) {
	path := filepath.Join(dir, "identity.json")
	var id Identity
	b, err := os.ReadFile(path)
	if err == nil && json.Unmarshal(b, &id) == nil && id.Resource != "" && id.UserAgentID != "" {
		return id, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return id, fmt.Errorf("read identity: %w", err)
	}
	id = Identity{Resource: "xmppctl." + randomBase32(5), UserAgentID: uuid4()}
	b, _ = json.Marshal(id)
	if err := writeFileAtomic(path, b); err != nil {
		return id, fmt.Errorf("store identity: %w", err)
	}
	return id, nil
}

func randomBase32(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux (Go ≥1.24 panics instead)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func uuid4() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// writeFileAtomic writes a private file (0600) via rename so that a reader
// never sees half of it.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// mechMemory remembers, per server address and domain, which SASL mechanism
// logged in, so that later runs need a single login.
type mechMemory struct {
	path string
}

func (m mechMemory) get(key string) string {
	if m.path == "" {
		return ""
	}
	b, err := os.ReadFile(m.path)
	if err != nil {
		return ""
	}
	var all map[string]string
	_ = json.Unmarshal(b, &all)
	return all[key]
}

func (m mechMemory) put(key, mech string) {
	if m.path == "" || m.get(key) == mech {
		return
	}
	all := map[string]string{}
	if b, err := os.ReadFile(m.path); err == nil {
		_ = json.Unmarshal(b, &all)
	}
	all[key] = mech
	b, _ := json.Marshal(all)
	_ = writeFileAtomic(m.path, b) // a cache: failing to write costs a retry next time
}

// fastToken is an XEP-0484 token: a credential, kept in a 0600 file.
type fastToken struct {
	Token     string    `json:"token"`
	Mechanism string    `json:"mechanism"`
	Expiry    time.Time `json:"expiry"`
}

type fastStore struct {
	path string
}

func (f fastStore) load() map[string]fastToken {
	all := map[string]fastToken{}
	if b, err := os.ReadFile(f.path); err == nil {
		_ = json.Unmarshal(b, &all)
	}
	return all
}

func (f fastStore) get(account string) fastToken {
	if f.path == "" {
		return fastToken{}
	}
	t := f.load()[account]
	if t.Token == "" || (!t.Expiry.IsZero() && time.Now().After(t.Expiry)) {
		return fastToken{}
	}
	return t
}

func (f fastStore) put(account string, t fastToken) {
	if f.path == "" {
		return
	}
	all := f.load()
	all[account] = t
	b, _ := json.Marshal(all)
	_ = writeFileAtomic(f.path, b)
}

func (f fastStore) drop(account string) {
	if f.path == "" {
		return
	}
	all := f.load()
	if _, ok := all[account]; !ok {
		return
	}
	delete(all, account)
	b, _ := json.Marshal(all)
	_ = writeFileAtomic(f.path, b)
}
