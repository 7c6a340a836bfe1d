package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	bclock "github.com/bulwark-go/bulwark/internal/clock"
)

// DefaultMaxKeys is KeyedConfig.MaxKeys when it is left 0.
const DefaultMaxKeys = 100_000

// DefaultIdleTTL is the least time a key is remembered after its last call
// when KeyedConfig.IdleTTL is left 0.
const DefaultIdleTTL = time.Minute

// A Keyed limiter splits its keys over up to maxShards shards with at
// least minPerShard keys of room each: fewer, larger shards for a small
// MaxKeys, so that keys hashing unevenly do not fill one shard long before
// the others.
const (
	maxShards   = 64
	minPerShard = 128
)

// KeyedConfig configures a [Keyed] limiter: one limit per key (client,
// tenant, API token), each as Config describes, with a bound on how many
// keys are remembered.
type KeyedConfig struct {
	// Config is the limit every key gets: Rate (or Limit and Per), Burst,
	// MaxWait (for ExecuteKey), Name, Observer and Clock (read by the
	// methods without a time argument, and WaitKey's timer), with their
	// defaults.
	Config

	// MaxKeys bounds how many keys are remembered at once, and so the
	// memory used, however many distinct keys arrive. Default
	// [DefaultMaxKeys]. When a new key finds no room, the key used least
	// recently is forgotten to make some (its limit restarts with a full
	// burst if it comes back). Keys are spread over up to 64 shards of at
	// least 128 keys each, each holding its share of MaxKeys and keeping
	// the keys it holds in order of last use: in a shard, a key used more
	// recently than another is never forgotten before it. So a shard may
	// start forgetting a little before the total reaches MaxKeys; with
	// MaxKeys below 256 there is one shard, and the keys remembered are
	// exactly the last MaxKeys distinct keys used (idle keys aside).
	MaxKeys int

	// IdleTTL is how long a key is remembered after its last call. Idle
	// keys are removed a few at a time as new keys arrive. Default 0: the
	// longer of [DefaultIdleTTL] and the time the bucket takes to refill
	// (Burst/Rate), so that forgetting an idle key never changes a
	// decision. An IdleTTL shorter than Burst/Rate forgets keys that may
	// still owe time, which resets their limit. Negative values are an
	// error.
	IdleTTL time.Duration

	// HashSeed, when not 0, fixes how keys are spread over the shards, the
	// same in every run and process, so that a test of eviction can be
	// repeated. Default 0: a random spread chosen by NewKeyed, which a
	// client cannot predict to crowd one shard with its keys; leave it 0
	// in production.
	HashSeed uint64
}

// Keyed limits each key separately, with the same rate and burst for all,
// remembering at most KeyedConfig.MaxKeys keys.
//
// The methods mirror [Limiter]'s, with the key first. Deciding for a known
// key takes one shard lock and allocates nothing; a new key allocates a
// copy of the key string (so that a key sliced from a large buffer does not
// keep the buffer alive).
//
// A Keyed is safe for concurrent use by multiple goroutines.
type Keyed struct {
	limits atomic.Pointer[limits]
	clock
	name    string
	maxWait time.Duration
	obs     bulwark.Observer
	idleTTL int64 // ticks; 0: the default, max(DefaultIdleTTL, refill time)
	maxKeys int
	seed    maphash.Seed
	fixed   uint64 // KeyedConfig.HashSeed; 0: hash with seed
	shards  []keyShard

	setMu sync.Mutex // serializes SetLimit
}

type keyShard struct {
	mu       sync.Mutex
	index    map[string]int32
	entries  []keyEntry
	capacity int
	// The entries form a list in order of last use: head the most
	// recent, tail the least (indices into entries, -1 for none).
	head, tail int32
	gens       uint64 // entries added so far: the next entry's gen

	allowed, rejected, evicted, expired uint64
	_                                   [64]byte
}

type keyEntry struct {
	key  string
	tat  uint64  // theoretical arrival time
	seen uint64  // last call
	lim  *limits // the setting tat is expressed in
	gen  uint64  // tells this entry from a later one for the same key

	prev, next int32 // neighbours in the shard's list by last use
}

// NewKeyed returns a keyed limiter configured by cfg, or an error naming
// the field that is out of range.
func NewKeyed(cfg KeyedConfig) (*Keyed, error) {
	p, err := newLimits(cfg.Rate, cfg.Limit, cfg.Per, cfg.Burst, "KeyedConfig.")
	if err != nil {
		return nil, err
	}
	if cfg.MaxWait < 0 {
		return nil, fmt.Errorf("ratelimit: KeyedConfig.MaxWait is %v; it must be 0 (do not wait) or positive", cfg.MaxWait)
	}
	if cfg.MaxKeys < 0 {
		return nil, fmt.Errorf("ratelimit: KeyedConfig.MaxKeys is %d; it must be positive, or 0 for the default %d", cfg.MaxKeys, DefaultMaxKeys)
	}
	if cfg.IdleTTL < 0 {
		return nil, fmt.Errorf("ratelimit: KeyedConfig.IdleTTL is %v; it must be positive, or 0 to forget keys once their bucket is full", cfg.IdleTTL)
	}
	maxKeys := cfg.MaxKeys
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	k := &Keyed{
		clock:   clock{base: bclock.Now(cfg.Clock), clk: cfg.Clock},
		name:    cfg.Name,
		maxWait: cfg.MaxWait,
		obs:     cfg.Observer,
		maxKeys: maxKeys,
		seed:    maphash.MakeSeed(),
		fixed:   cfg.HashSeed,
		shards:  make([]keyShard, min(maxShards, max(1, maxKeys/minPerShard))),
	}
	if cfg.IdleTTL > 0 {
		k.idleTTL = math.MaxInt64
		if cfg.IdleTTL <= maxSpan>>tickShift {
			k.idleTTL = int64(ticksOf(cfg.IdleTTL))
		}
	}
	n := len(k.shards)
	for i := range k.shards {
		s := &k.shards[i]
		s.capacity = maxKeys / n
		if i < maxKeys%n {
			s.capacity++
		}
		s.index = make(map[string]int32)
		s.head, s.tail = -1, -1
	}
	k.limits.Store(p)
	return k, nil
}

// Name returns Config.Name.
func (k *Keyed) Name() string { return k.name }

func (k *Keyed) shard(key string) *keyShard {
	var h uint64
	if k.fixed != 0 {
		h = fixedHash(k.fixed, key)
	} else {
		h = maphash.String(k.seed, key)
	}
	hi, _ := bits.Mul64(h, uint64(len(k.shards)))
	return &k.shards[hi]
}

// fixedHash hashes key with the seed: FNV-1a from the seed, then the
// finalizer of splitmix64 to spread the bits. It is the same in every
// process.
func fixedHash(seed uint64, key string) uint64 {
	h := seed ^ 14695981039346656037
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// AllowKey reports whether one event for key may happen now, and if so
// counts it.
func (k *Keyed) AllowKey(key string) bool {
	ok, _, _, _, _ := k.step(key, k.now(), true, 1)
	return ok
}

// AllowKeyN reports whether n events for key may happen at the time now,
// and if so counts them. It panics if n is negative.
func (k *Keyed) AllowKeyN(key string, now time.Time, n int) bool {
	ok, _, _, _, _ := k.step(key, k.at(now), false, n)
	return ok
}

// CheckKey is AllowKey with the full [Decision].
func (k *Keyed) CheckKey(key string) Decision {
	return k.check(key, k.now(), true, 1)
}

// CheckKeyN is CheckKey for n events at the time now. It panics if n is
// negative.
func (k *Keyed) CheckKeyN(key string, now time.Time, n int) Decision {
	return k.check(key, k.at(now), false, n)
}

// PeekKey returns what CheckKey would decide for key now, and whether the
// key is remembered, without counting, remembering or forgetting
// anything: a key not remembered is described with a full burst, and the
// order of keys by last use does not change.
func (k *Keyed) PeekKey(key string) (d Decision, known bool) {
	return k.peek(key, k.now(), 1)
}

// PeekKeyN is PeekKey for n events at the time now. It panics if n is
// negative.
func (k *Keyed) PeekKeyN(key string, now time.Time, n int) (d Decision, known bool) {
	return k.peek(key, k.at(now), n)
}

func (k *Keyed) peek(key string, now uint64, n int) (Decision, bool) {
	if n < 0 {
		panic(fmt.Sprintf("ratelimit: negative event count %d", n))
	}
	p := k.limits.Load()
	s := k.shard(key)
	s.mu.Lock()
	tat := now // a key not remembered has a full bucket
	i, known := s.index[key]
	if known {
		e := &s.entries[i]
		tat = e.tat
		if e.lim != p {
			tat = e.lim.rescale(p, e.tat, now)
		}
	}
	s.mu.Unlock()
	if p.unlimited {
		return p.decision(true, 0, now, 0), known
	}
	if n > p.burst {
		d := p.decision(false, tat, now, 0)
		d.RetryAfter = Never
		return d, known
	}
	next, over := p.take(tat, now, n)
	if over > 0 {
		return p.decision(false, tat, now, over), known
	}
	return p.decision(true, next, now, 0), known
}

func (k *Keyed) check(key string, now uint64, live bool, n int) Decision {
	ok, tat, now, over, p := k.step(key, now, live, n)
	if over == math.MaxInt64 {
		d := p.decision(false, tat, now, 0)
		d.RetryAfter = Never
		return d
	}
	return p.decision(ok, tat, now, over)
}

// step decides n events for key at now. When live, now is a reading of
// the clock taken when the call began, and a refusal is decided at a
// fresh one taken under the shard's lock (see clock). It returns the key's
// state after the decision, the time it decided at and, when refused, the
// wait (math.MaxInt64 when n exceeds the burst).
func (k *Keyed) step(key string, now uint64, live bool, n int) (ok bool, tat, at uint64, over int64, p *limits) {
	p = k.limits.Load()
	if n < 0 {
		panic(fmt.Sprintf("ratelimit: negative event count %d", n))
	}
	s := k.shard(key)
	s.mu.Lock()
	if p.unlimited {
		s.allowed++
		s.mu.Unlock()
		return true, now, now, 0, p
	}
	if n > p.burst {
		s.rejected++
		if i, found := s.index[key]; found {
			tat = s.entries[i].lim.rescale(p, s.entries[i].tat, now)
		}
		s.mu.Unlock()
		k.observeRejected(ErrLimited, Never)
		return false, tat, now, math.MaxInt64, p
	}
	e := s.lookup(k, key, now, p)
	next, over := p.take(e.tat, now, n)
	if over > 0 && live { // see clock
		now = k.now()
		next, over = p.take(e.tat, now, n)
	}
	e.see(now)
	if over > 0 {
		tat = e.tat
		s.rejected++
		s.mu.Unlock()
		k.observeRejected(ErrLimited, durationOf(over))
		return false, tat, now, over, p
	}
	e.tat = next
	s.allowed++
	s.mu.Unlock()
	return true, next, now, 0, p
}

func (k *Keyed) observeRejected(err error, delay time.Duration) {
	if k.obs != nil {
		k.obs.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "ratelimit", Name: k.name, Err: err, Delay: delay})
	}
}

// see records a call for the entry at now. A reading older than the
// entry's last (taken before a wait for the lock) leaves the last in place.
func (e *keyEntry) see(now uint64) {
	if ahead(now, e.seen) > 0 {
		e.seen = now
	}
}

// lookup returns key's entry, adding it (with a full bucket) if needed,
// moves it to the head of the list by last use, and brings it to the
// setting p. s.mu is held.
func (s *keyShard) lookup(k *Keyed, key string, now uint64, p *limits) *keyEntry {
	if i, ok := s.index[key]; ok {
		if i != s.head {
			s.unlink(i)
			s.pushFront(i)
		}
		e := &s.entries[i]
		if e.lim != p {
			e.tat, e.lim = e.lim.rescale(p, e.tat, now), p
		}
		return e
	}
	ttl := k.ttl(p)
	for range 2 { // clear out idle keys a little faster than keys arrive
		s.expireOne(now, ttl)
	}
	key = strings.Clone(key)
	s.gens++
	e := keyEntry{key: key, tat: now, seen: now, lim: p, gen: s.gens}
	var i int32
	if len(s.entries) < s.capacity {
		i = int32(len(s.entries))
		s.entries = append(s.entries, e)
	} else {
		i = s.evict(now, ttl)
		s.entries[i] = e
	}
	s.pushFront(i)
	s.index[key] = i
	return &s.entries[i]
}

// pushFront puts entry i, unlinked, at the head of the list. s.mu is held.
func (s *keyShard) pushFront(i int32) {
	e := &s.entries[i]
	e.prev, e.next = -1, s.head
	if s.head >= 0 {
		s.entries[s.head].prev = i
	} else {
		s.tail = i
	}
	s.head = i
}

// unlink takes entry i out of the list. s.mu is held.
func (s *keyShard) unlink(i int32) {
	e := &s.entries[i]
	if e.prev >= 0 {
		s.entries[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.entries[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
}

// ttl returns the idle TTL in ticks under the setting p.
func (k *Keyed) ttl(p *limits) int64 {
	if k.idleTTL != 0 {
		return k.idleTTL
	}
	return max(int64(ticksOf(DefaultIdleTTL)), p.tau)
}

// expireOne removes the least recently used entry if it has not been used
// for ttl ticks. s.mu is held.
func (s *keyShard) expireOne(now uint64, ttl int64) {
	if s.tail >= 0 && ahead(now, s.entries[s.tail].seen) >= ttl {
		s.remove(s.tail)
		s.expired++
	}
}

// evict forgets the least recently used key to make room, and returns its
// slot, now free and unlinked, for the caller to fill. s.mu is held.
func (s *keyShard) evict(now uint64, ttl int64) int32 {
	i := s.tail
	e := &s.entries[i]
	if ahead(now, e.seen) >= ttl {
		s.expired++
	} else {
		s.evicted++
	}
	s.unlink(i)
	delete(s.index, e.key)
	return i
}

// remove deletes entry i, moving the last entry into its slot. s.mu is
// held.
func (s *keyShard) remove(i int32) {
	s.unlink(i)
	delete(s.index, s.entries[i].key)
	last := int32(len(s.entries) - 1)
	if i != last {
		m := s.entries[last]
		s.entries[i] = m
		if m.prev >= 0 {
			s.entries[m.prev].next = i
		} else {
			s.head = i
		}
		if m.next >= 0 {
			s.entries[m.next].prev = i
		} else {
			s.tail = i
		}
		s.index[m.key] = i
	}
	s.entries[last] = keyEntry{} // let the key string go
	s.entries = s.entries[:last]
}

// ExecuteKey runs op if key's limit admits one event now, or, with
// Config.MaxWait set, once key's turn comes within MaxWait and the
// context's deadline. Otherwise it returns a *LimitedError without running
// op, or ctx.Err() if the context ended the wait.
func (k *Keyed) ExecuteKey(ctx context.Context, key string, op bulwark.Operation) (any, error) {
	if k.maxWait == 0 {
		ok, _, _, over, _ := k.step(key, k.now(), true, 1)
		if !ok {
			return nil, &LimitedError{Name: k.name, Delay: delayOf(over)}
		}
		return op.Call(ctx)
	}
	if err := k.wait(ctx, key, k.maxWait); err != nil {
		return nil, err
	}
	return op.Call(ctx)
}

// WaitKey blocks until one event for key may happen, and counts it. When
// the wait would end at or after the context's deadline it returns a
// *LimitedError at once; when the context ends the wait it gives the event
// back and returns ctx.Err().
func (k *Keyed) WaitKey(ctx context.Context, key string) error {
	return k.wait(ctx, key, -1)
}

func (k *Keyed) wait(ctx context.Context, key string, maxWait time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := k.now()
	limit := waitLimitOn(ctx, k.clk, maxWait)
	p := k.limits.Load()
	s := k.shard(key)
	s.mu.Lock()
	if p.unlimited {
		s.allowed++
		s.mu.Unlock()
		return nil
	}
	e := s.lookup(k, key, now, p)
	next, over := p.take(e.tat, now, 1)
	if over > 0 { // see clock
		// Decide the wait at a fresh reading; the time spent getting here
		// comes off the limit, but a call that need not wait at all is
		// never refused.
		start := now
		now = k.now()
		next, over = p.take(e.tat, now, 1)
		limit -= max(ahead(now, start), 0)
	}
	e.see(now)
	wait := max(over, 0)
	if wait > 0 && wait > limit {
		s.rejected++
		s.mu.Unlock()
		err := &LimitedError{Name: k.name, Delay: durationOf(wait)}
		k.observeRejected(err, err.Delay)
		return err
	}
	e.tat = next
	if wait == 0 {
		s.allowed++
		s.mu.Unlock()
		return nil
	}
	gen := e.gen
	s.mu.Unlock()

	d := durationOf(wait)
	t := bclock.NewTimer(k.clk, d)
	select {
	case <-t.C():
		s.mu.Lock()
		s.allowed++
		s.mu.Unlock()
		if k.obs != nil {
			k.obs.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "ratelimit", Name: k.name, Delay: d})
		}
		return nil
	case <-ctx.Done():
		t.Stop()
		k.giveBack(s, key, gen, p, next, p.interval)
		return ctx.Err()
	}
}

// giveBack cancels a wait for key that moved its state to end by cost
// ticks, if the key is still the entry gen under the setting p (a key
// forgotten and added again starts afresh and owes nothing): it gives back
// what later waits for the key do not depend on, as Reservation.CancelAt
// does.
func (k *Keyed) giveBack(s *keyShard, key string, gen uint64, p *limits, end uint64, cost int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := k.now() // under the lock; see clock
	i, ok := s.index[key]
	if !ok {
		return
	}
	e := &s.entries[i]
	if e.gen != gen || e.lim != p {
		return
	}
	if next, ok := giveBack(e.tat, now, end, cost); ok {
		e.tat = next
	}
}

// SetLimit changes the rate and burst of every key while the limiter runs;
// see [Limiter.SetLimit]. Each key's state is carried over the first time
// it is used under the new setting.
func (k *Keyed) SetLimit(rate float64, burst int) error {
	return k.set(func(*limits) (float64, int) { return rate, burst })
}

// SetRate changes the rate and keeps the burst; see SetLimit.
func (k *Keyed) SetRate(rate float64) error {
	return k.set(func(p *limits) (float64, int) { return rate, p.burst })
}

// SetBurst changes the burst and keeps the rate; see SetLimit.
func (k *Keyed) SetBurst(burst int) error {
	return k.set(func(p *limits) (float64, int) { return p.rate, burst })
}

func (k *Keyed) set(change func(*limits) (float64, int)) error {
	k.setMu.Lock()
	defer k.setMu.Unlock()
	p := k.limits.Load()
	rate, burst := change(p)
	q, err := newLimits(rate, 0, 0, burst, "")
	if err != nil {
		return err
	}
	q.keepInterval(p)
	k.limits.Store(q)
	return nil
}

// Len returns the number of keys remembered now.
func (k *Keyed) Len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// KeyedSnapshot holds a [Keyed] limiter's live figures.
type KeyedSnapshot struct {
	Keys     int     // keys remembered now
	MaxKeys  int     // the bound on Keys
	Allowed  uint64  // calls admitted since the limiter was made
	Rejected uint64  // calls refused since the limiter was made
	Evicted  uint64  // keys forgotten to make room for new ones
	Expired  uint64  // idle keys forgotten (see KeyedConfig.IdleTTL)
	Rate     float64 // events per second per key; +Inf when unlimited
	Burst    int     // the most events admitted at once per key
}

// Snapshot returns the limiter's current figures, summed over its shards
// one after another.
func (k *Keyed) Snapshot() KeyedSnapshot {
	p := k.limits.Load()
	snap := KeyedSnapshot{MaxKeys: k.maxKeys, Rate: p.rate, Burst: p.burst}
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		snap.Keys += len(s.entries)
		snap.Allowed += s.allowed
		snap.Rejected += s.rejected
		snap.Evicted += s.evicted
		snap.Expired += s.expired
		s.mu.Unlock()
	}
	return snap
}
