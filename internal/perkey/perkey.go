// Package perkey holds a bounded map of policies made on first use of a
// key (an upstream host, a gRPC method), shared by bulwarkhttp and
// bulwarkgrpc, which tells hooks of each value it makes and forgets, so
// that metrics and health checks can follow them.
package perkey

import (
	"sync"
	"sync/atomic"
)

// Config configures a [Map].
type Config[V any] struct {
	// Max bounds the keys kept; it must be positive.
	Max int
	// New makes the value of a key seen for the first time (or again,
	// after it was forgotten).
	New func(key string) (V, error)
	// Keep reports whether a value is worth keeping when the map is full
	// (an open breaker): a new key forgets a value Keep rejects if there is
	// one, else any. Nil keeps none in particular.
	Keep func(V) bool
	// Made and Forgotten, if set, are called with each value made and each
	// value forgotten to make room, in the order those happened, after the
	// map's lock is released but before another key is added or forgotten.
	// They must not look up a new key in the same map.
	Made, Forgotten func(V)
}

// Map is a bounded map of keys to values made on first use. Looking up a
// known key takes a read lock (or nothing, when it is the key looked up
// last) and allocates nothing. It is safe for concurrent use.
type Map[V any] struct {
	c Config[V]

	last   atomic.Pointer[entry[V]] // the most recent lookup: one key is the common case
	mu     sync.RWMutex
	m      map[string]*entry[V]
	hookMu sync.Mutex // orders the hooks' calls as the changes they report
}

type entry[V any] struct {
	key       string
	v         V
	forgotten atomic.Bool // set when evicted: last may still hold it
}

// New returns an empty Map.
func New[V any](c Config[V]) *Map[V] {
	return &Map[V]{c: c, m: make(map[string]*entry[V])}
}

// Get returns the value of key, made now if the key is new.
func (m *Map[V]) Get(key string) (V, error) {
	if e := m.last.Load(); e != nil && e.key == key && !e.forgotten.Load() {
		return e.v, nil
	}
	m.mu.RLock()
	e := m.m[key]
	m.mu.RUnlock()
	if e == nil {
		var err error
		if e, err = m.add(key); err != nil {
			var zero V
			return zero, err
		}
	}
	m.last.Store(e)
	return e.v, nil
}

func (m *Map[V]) add(key string) (*entry[V], error) {
	m.mu.Lock()
	if e := m.m[key]; e != nil {
		m.mu.Unlock()
		return e, nil
	}
	v, err := m.c.New(key)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	var gone *entry[V]
	if len(m.m) >= m.c.Max {
		gone = m.evict()
	}
	e := &entry[V]{key: key, v: v}
	m.m[key] = e
	if m.c.Made == nil && m.c.Forgotten == nil {
		m.mu.Unlock()
		return e, nil
	}
	m.hookMu.Lock() // before mu is released: the next change waits for these hooks
	m.mu.Unlock()
	defer m.hookMu.Unlock()
	if gone != nil && m.c.Forgotten != nil {
		m.c.Forgotten(gone.v)
	}
	if m.c.Made != nil {
		m.c.Made(v)
	}
	return e, nil
}

// evict forgets one key to make room, preferring one whose value Keep
// rejects. Map iteration order is random, so this is a random such key.
// Called with mu held.
func (m *Map[V]) evict() *entry[V] {
	var victim *entry[V]
	for _, e := range m.m {
		if m.c.Keep == nil || !m.c.Keep(e.v) {
			victim = e
			break
		}
		if victim == nil {
			victim = e
		}
	}
	if victim != nil {
		delete(m.m, victim.key)
		victim.forgotten.Store(true)
	}
	return victim
}

// All returns the values kept now, by key.
func (m *Map[V]) All() map[string]V {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]V, len(m.m))
	for k, e := range m.m {
		out[k] = e.v
	}
	return out
}

// Len returns the number of keys kept.
func (m *Map[V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}
