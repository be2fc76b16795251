// Package registry holds what a connection knows by peer and session id:
// Jingle sessions (XEP-0166), SI offers (XEP-0095) and in-band
// bytestreams (XEP-0047) are each found by the full JID of the peer and
// the sid it chose, so one type serves all three.
package registry

import "sync"

// Key is a peer's full JID and a session (or stream) id.
type Key struct{ Peer, SID string }

// Map holds values by peer and session id. It is safe for concurrent use;
// the zero value is empty and ready to use.
type Map[V comparable] struct {
	mu sync.Mutex
	m  map[Key]V
}

// Get returns the value for peer and sid, if there is one.
func (r *Map[V]) Get(peer, sid string) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[Key{peer, sid}]
	return v, ok
}

// Set stores v for peer and sid, replacing what was there.
func (r *Map[V]) Set(peer, sid string, v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[Key]V{}
	}
	r.m[Key{peer, sid}] = v
}

// LoadOrStore returns the value for peer and sid when there is one
// (loaded true); otherwise it stores v and returns it.
func (r *Map[V]) LoadOrStore(peer, sid string, v V) (actual V, loaded bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.m[Key{peer, sid}]; ok {
		return old, true
	}
	if r.m == nil {
		r.m = map[Key]V{}
	}
	r.m[Key{peer, sid}] = v
	return v, false
}

// Remove deletes the entry for peer and sid only while it is still v, so
// that a finished session never removes a newer one that took its key.
// It reports whether it removed it.
func (r *Map[V]) Remove(peer, sid string, v V) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.m[Key{peer, sid}]; ok && old == v {
		delete(r.m, Key{peer, sid})
		return true
	}
	return false
}

// Delete deletes the entry for peer and sid, whatever it is.
func (r *Map[V]) Delete(peer, sid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, Key{peer, sid})
}

// Len is the number of entries.
func (r *Map[V]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
