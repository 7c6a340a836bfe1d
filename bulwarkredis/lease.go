package bulwarkredis

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/ratelimit"
)

// DefaultLeaseTTL is LimiterConfig.LeaseTTL when left 0.
const DefaultLeaseTTL = time.Second

// maxLeasedKeys bounds the keys a Limiter holds leases for; beyond it, new
// keys are decided one round trip per call.
const maxLeasedKeys = 10_000

const leaseShards = 16

// leases holds, per key, the tokens a replica took from Redis in one round
// trip and has not spent yet: at most size-1 per key, each spent within
// ttl of being taken.
type leases struct {
	size   int
	ttl    time.Duration
	seed   maphash.Seed
	shards [leaseShards]leaseShard
}

type leaseShard struct {
	mu sync.Mutex
	m  map[string]*lease
	_  [40]byte
}

type lease struct {
	tokens   int
	expires  time.Time
	fetching chan struct{} // closed when the round trip in flight ends; nil when none
}

func newLeases(size int, ttl time.Duration) *leases {
	ls := &leases{size: size, ttl: ttl, seed: maphash.MakeSeed()}
	for i := range ls.shards {
		ls.shards[i].m = map[string]*lease{}
	}
	return ls
}

func (ls *leases) shard(key string) *leaseShard {
	return &ls.shards[maphash.String(ls.seed, key)%leaseShards]
}

// acquire spends a leased token of key, waiting for a lease in flight if
// there is one (until ctx ends or timeout passes), or else makes the
// caller the one that fetches the next lease: then fetch is true and the
// caller must call fetched when the round trip is over. When it gives up
// waiting, ok and fetch are false and the caller asks Redis for itself.
func (ls *leases) acquire(ctx context.Context, key string, timeout time.Duration) (d ratelimit.Decision, ok, fetch bool) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for range 1000 {
		now := time.Now()
		s := ls.shard(key)
		s.mu.Lock()
		e := s.m[key]
		if e == nil {
			if len(s.m) >= maxLeasedKeys/leaseShards {
				s.mu.Unlock()
				return d, false, false // too many keys: one round trip per call
			}
			e = &lease{}
			s.m[key] = e
		}
		if e.tokens > 0 && now.Before(e.expires) {
			e.tokens--
			d = ratelimit.Decision{Allowed: true, Remaining: e.tokens}
			s.mu.Unlock()
			return d, true, false
		}
		wait := e.fetching
		if wait == nil {
			e.fetching = make(chan struct{})
			s.mu.Unlock()
			return d, false, true
		}
		s.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return d, false, false
		case <-timer.C:
			return d, false, false
		}
	}
	return d, false, false
}

// fetched ends the round trip for key's next lease; n unspent tokens were
// taken (0 when the trip failed or was refused).
func (ls *leases) fetched(key string, n int, now time.Time) {
	s := ls.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e == nil {
		return
	}
	if n > 0 {
		if !now.Before(e.expires) {
			e.tokens = 0
		}
		e.tokens = min(e.tokens+n, ls.size-1)
		e.expires = now.Add(ls.ttl)
	}
	if e.fetching != nil {
		close(e.fetching)
		e.fetching = nil
	}
	if e.tokens == 0 {
		delete(s.m, key)
	}
}

// forget drops key's unspent tokens.
func (ls *leases) forget(key string) {
	if ls == nil {
		return
	}
	s := ls.shard(key)
	s.mu.Lock()
	if e := s.m[key]; e != nil {
		e.tokens = 0
	}
	s.mu.Unlock()
}
