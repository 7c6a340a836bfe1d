package exporter

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// An Index finds an exporter's series of (policy, name), the Policy and
// Name of an event, making them the first time. Its lookup does not
// allocate, and a policy that reports every event with the same Policy
// and Name strings is found by their addresses in a cache before the map.
// It is safe for concurrent use.
type Index[S any] struct {
	make  func(policy, name string) S
	mu    sync.Mutex // serialises writers of m
	m     atomic.Pointer[map[key]*indexed[S]]
	cache [cacheSize]atomic.Pointer[indexed[S]]
}

type key struct{ policy, name string }

type indexed[S any] struct {
	policy, name string
	s            S
}

// NewIndex returns an Index whose series mk makes; mk is called once per
// (policy, name), with a lock held.
func NewIndex[S any](mk func(policy, name string) S) *Index[S] {
	x := &Index[S]{make: mk}
	x.m.Store(&map[key]*indexed[S]{})
	return x
}

// Get returns the series of (policy, name).
func (x *Index[S]) Get(policy, name string) S {
	slot := &x.cache[cacheSlot(policy, name)]
	if e := slot.Load(); e != nil && same(e.name, name) && same(e.policy, policy) {
		return e.s
	}
	e := (*x.m.Load())[key{policy, name}]
	if e == nil {
		e = x.add(policy, name)
	}
	slot.Store(e)
	return e.s
}

func (x *Index[S]) add(policy, name string) *indexed[S] {
	x.mu.Lock()
	defer x.mu.Unlock()
	old := *x.m.Load()
	k := key{policy, name}
	if e := old[k]; e != nil {
		return e
	}
	e := &indexed[S]{policy: policy, name: name, s: x.make(policy, name)}
	next := make(map[key]*indexed[S], len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = e
	x.m.Store(&next)
	return e
}

// same reports whether a == b. Strings that share their bytes, as a
// policy's Name does from one event to the next, compare without a call.
func same(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// cacheSize is the number of slots of Index.cache, a power of two.
const cacheSize = 256

// cacheSlot hashes the addresses of a policy's kind and name strings. The
// addresses serve only as a hint: they are never dereferenced.
func cacheSlot(policy, name string) uintptr {
	const k = 0x9E3779B97F4A7C15 // 2⁶⁴/φ, Fibonacci hashing
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(policy))))
	n := uint64(uintptr(unsafe.Pointer(unsafe.StringData(name))))
	return uintptr(((n ^ p*k) * k) >> (64 - 8))
}
