package conn

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
)

// Resource slots: one data dir has one stored identity, but several
// processes may use it at once (a `listen` running while cron starts a
// `send`). On a server without SASL2 both would bind the stored resource,
// and the second login replaces the first ("Replaced by new connection").
// So each session takes a slot: slot 0 is the stored identity, slot N > 0
// is the stored resource + "." + N and a user-agent id derived from the
// stored one (both stable too). A slot is held with an exclusive flock on
// resource-N.lock in the data dir (slot_unix.go), which the kernel drops
// when the process ends, however it ends.
//
// Within a process a slot is leased to one live session at a time; when
// the session closes (or its stream ends) the lease is handed back, but
// the process keeps the lock until it exits: a reconnect (listen after a
// lost connection closes the old session on the side and dials again
// while that close may still be waiting on a dead socket) must find its
// own slot again, not lose it to another process in the meantime. The
// cost is that a process that stopped using the data dir keeps its slot
// until it exits; others simply take the next one.

// maxSlots bounds the search; past it a session gets a random resource
// (as if there were no data dir) rather than failing.
const maxSlots = 64

var slotTable = struct {
	mu    sync.Mutex
	byDir map[string]*dirSlots
}{byDir: map[string]*dirSlots{}}

type dirSlots struct {
	held map[int]*slotLock // locked by this process
	busy map[int]bool      // leased to a live session
}

// leaseSlot returns the slot a new session of dir uses and the function
// that hands it back (idempotent). ok is false when no slot could be had
// (every one up to maxSlots taken): the caller then uses a random
// identity.
func leaseSlot(dir string) (n int, release func(), ok bool) {
	key, err := filepath.Abs(dir)
	if err != nil {
		key = filepath.Clean(dir)
	}
	slotTable.mu.Lock()
	defer slotTable.mu.Unlock()
	d := slotTable.byDir[key]
	if d == nil {
		d = &dirSlots{held: map[int]*slotLock{}, busy: map[int]bool{}}
		slotTable.byDir[key] = d
	}
	n = -1
	// A slot this process already holds first: a reconnect keeps its
	// resource.
	for i := range maxSlots {
		if d.held[i] != nil && !d.busy[i] {
			n = i
			break
		}
	}
	for i := 0; n < 0 && i < maxSlots; i++ {
		if d.held[i] != nil {
			continue
		}
		l, err := lockSlot(key, i)
		if err == errSlotTaken {
			continue
		}
		if err != nil {
			// No locking on this file system (or no permission): the
			// behaviour before slots, one shared resource.
			l = &slotLock{}
		}
		d.held[i], n = l, i
	}
	if n < 0 {
		return 0, func() {}, false
	}
	d.busy[n] = true
	var once sync.Once
	return n, func() {
		once.Do(func() {
			slotTable.mu.Lock()
			d.busy[n] = false
			slotTable.mu.Unlock()
		})
	}, true
}

// slotFile is the lock file of slot n in dir.
func slotFile(dir string, n int) string {
	return filepath.Join(dir, "resource-"+strconv.Itoa(n)+".lock")
}

// forSlot returns the identity a session in slot n uses.
func (id Identity) forSlot(n int) Identity {
	if n == 0 {
		return id
	}
	return Identity{Resource: id.Resource + "." + strconv.Itoa(n), UserAgentID: slotUUID(id.UserAgentID, n)}
}

// slotUUID derives the user-agent id of slot n from the stored one: the
// server (Bind2) derives the resource from it, so each slot needs its own,
// and the same one every time. XEP-0388 (and go-xmpp) want a UUIDv4; a
// hash of the random stored id is as unpredictable as a random one, so it
// gets the version 4 and variant bits and is one.
func slotUUID(base string, n int) string {
	h := sha256.Sum256([]byte("xmppctl resource slot\x00" + base + "\x00" + strconv.Itoa(n)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
