package bulwarkhttp

import (
	"sync"
	"sync/atomic"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/hedge"
)

// host holds the policies of one key (an upstream host by default).
type host struct {
	key     string
	breaker *breaker.Breaker // nil: no breaker configured
	hedger  *hedge.Hedger    // nil: no hedging configured
}

// hosts is a bounded map of keys to their policies, created lazily from
// the templates. Looking up a known key takes a read lock (or nothing, when
// it is the key looked up last) and allocates nothing.
type hosts struct {
	max        int
	breaker    *breaker.Config // templates; nil when not configured
	hedge      *hedge.Config
	breakerFor func(string) *breaker.Breaker // the caller's breakers, instead of the template

	last atomic.Pointer[host] // the most recent lookup: one upstream is the common case
	mu   sync.RWMutex
	m    map[string]*host
}

func (hs *hosts) get(key string) (*host, error) {
	if h := hs.last.Load(); h != nil && h.key == key {
		return h, nil
	}
	hs.mu.RLock()
	h := hs.m[key]
	hs.mu.RUnlock()
	if h == nil {
		var err error
		if h, err = hs.add(key); err != nil {
			return nil, err
		}
	}
	hs.last.Store(h)
	return h, nil
}

func (hs *hosts) add(key string) (*host, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if h := hs.m[key]; h != nil {
		return h, nil
	}
	h := &host{key: key}
	if hs.breakerFor != nil {
		h.breaker = hs.breakerFor(key)
	}
	if hs.breaker != nil {
		c := *hs.breaker
		c.Name = name(c.Name, key)
		b, err := breaker.New(c)
		if err != nil {
			return nil, err
		}
		h.breaker = b
	}
	if hs.hedge != nil {
		c := *hs.hedge
		c.Name = name(c.Name, key)
		hd, err := hedge.New(c)
		if err != nil {
			return nil, err
		}
		h.hedger = hd
	}
	if len(hs.m) >= hs.max {
		hs.evict()
	}
	hs.m[key] = h
	return h, nil
}

// evict forgets one key to make room, preferring one whose breaker is
// closed (its state says nothing worth keeping). Map iteration order is
// random, so this is a random such key. Called with mu held.
func (hs *hosts) evict() {
	var victim string
	found := false
	for k, h := range hs.m {
		if h.breaker == nil || h.breaker.State() == breaker.StateClosed {
			hs.forget(k)
			return
		}
		if !found {
			victim, found = k, true
		}
	}
	if found {
		hs.forget(victim)
	}
}

func (hs *hosts) forget(key string) {
	delete(hs.m, key)
	if l := hs.last.Load(); l != nil && l.key == key {
		hs.last.Store(nil)
	}
}

// name is the policy name for key: the template's name and the key.
func name(template, key string) string {
	if template == "" {
		return key
	}
	return template + ":" + key
}

// all returns the hosts known now.
func (hs *hosts) all() []*host {
	hs.mu.RLock()
	defer hs.mu.RUnlock()
	out := make([]*host, 0, len(hs.m))
	for _, h := range hs.m {
		out = append(out, h)
	}
	return out
}
