package bulwarkredis

import (
	"hash/maphash"
	"sync"
	"time"
)

// DefaultRefusalCache is LimiterConfig.RefusalCache when left 0.
const DefaultRefusalCache = 10_000

const refusalShards = 16

// refusals remembers the keys Redis refused until a known time, so that
// calls for them are refused locally, without a round trip, until then: a
// key over its limit stays over it until its debt is paid, whatever the
// other replicas do (only Reset shortens it). It holds at most max keys;
// when full it drops the entries that have run out, and if none has, does
// not remember the new one.
type refusals struct {
	seed   maphash.Seed
	max    int // per shard
	shards [refusalShards]refusalShard
}

type refusalShard struct {
	mu sync.RWMutex
	m  map[string]refusal
	_  [40]byte
}

type refusal struct {
	until time.Time // on this machine's monotonic clock
	lim   *limits   // the limit the refusal was decided for
}

func newRefusals(max int) *refusals {
	if max <= 0 {
		return nil
	}
	r := &refusals{seed: maphash.MakeSeed(), max: max/refusalShards + 1}
	for i := range r.shards {
		r.shards[i].m = map[string]refusal{}
	}
	return r
}

func (r *refusals) shard(key string) *refusalShard {
	return &r.shards[maphash.String(r.seed, key)%refusalShards]
}

// check returns the time left before key, under lim, may be admitted
// again, or 0 when it is not known to be refused.
func (r *refusals) check(key string, lim *limits, now time.Time) time.Duration {
	if r == nil {
		return 0
	}
	s := r.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || e.lim != lim || !now.Before(e.until) {
		return 0 // an entry run out is dropped by add, when room is needed
	}
	return e.until.Sub(now)
}

// add remembers that key is refused under lim until now+d.
func (r *refusals) add(key string, lim *limits, now time.Time, d time.Duration) {
	if r == nil || d <= 0 {
		return
	}
	s := r.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= r.max {
		for k, e := range s.m {
			if !now.Before(e.until) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= r.max {
			return
		}
	}
	s.m[key] = refusal{until: now.Add(d), lim: lim}
}

// forget drops key.
func (r *refusals) forget(key string) {
	if r == nil {
		return
	}
	s := r.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}
