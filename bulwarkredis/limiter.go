package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

// DefaultTimeout is LimiterConfig.Timeout and SyncConfig.Timeout when left 0.
const DefaultTimeout = 100 * time.Millisecond

// DefaultKey is LimiterConfig.Key when left empty.
const DefaultKey = "global"

// policyName is the Policy of a Limiter's events: its refusals count with
// the local limiter's, told apart by Name.
const policyName = "ratelimit"

// LimiterConfig configures a [Limiter]. Set either Rate, or Limit and Per.
// Every replica that shares a key must use the same rate and burst.
type LimiterConfig struct {
	// Name identifies the limiter in events, errors and metrics, and is
	// part of the default Prefix. Default: "".
	Name string

	// Rate is the sustained rate in events per second per key, at most
	// [MaxRate]; math.Inf(1) admits everything without asking Redis.
	// Fractions are fine: 0.5 is one event every two seconds. No default:
	// set Rate, or Limit and Per.
	Rate float64

	// Limit and Per give the rate as Limit events per Per (100 per
	// time.Minute), to the nanosecond. Set both or neither.
	Limit int
	Per   time.Duration

	// Burst is how many events per key may be admitted at once after the
	// key has been idle; they are then spaced at the rate again. Default 1:
	// smooth. Burst/Rate may not exceed [MaxSpan]. Negative values are an
	// error.
	Burst int

	// Prefix is put before every key to make the Redis key, so that
	// limiters (and other data) sharing a Redis do not collide.
	// Default: "bulwark:ratelimit:" + Name + ":".
	Prefix string

	// Key is the key Execute limits: one limit shared by every replica.
	// Allow and ExecuteKey take the key as an argument instead.
	// Default: [DefaultKey], "global".
	Key string

	// Timeout bounds each call to Redis: no call waits past the caller's
	// deadline or Timeout, whichever comes first, whatever the client's
	// options. With go-redis's Options.ContextTimeoutEnabled the call runs
	// on the caller's goroutine; without it, go-redis would let a frozen
	// server hold it for the client's ReadTimeout (3 s by default), so it
	// runs on a goroutine of its own that the caller stops waiting for at
	// the deadline (a goroutine and a few allocations more per call).
	// Default: [DefaultTimeout], 100ms. Negative values are an error.
	Timeout time.Duration

	// Outage decides the calls Redis does not decide (unreachable, frozen,
	// slower than Timeout, answering with an error, or known to be down by
	// the breaker around Redis). Default [OutageLocal]: each replica limits
	// on its own at the shared rate divided by Replicas. Either way the
	// failure is returned by Allow as an *UnavailableError and told to
	// OnError.
	Outage Outage

	// Replicas is the number of replicas expected to share the limit: with
	// OutageLocal, each one admits Rate/Replicas (and Burst/Replicas, at
	// least 1) per key while Redis is out. Default 1: each replica alone
	// keeps the whole limit, so a fleet of N admits up to N times it during
	// an outage. Negative values are an error.
	Replicas int

	// RedisBreaker configures the breaker kept around Redis: once it opens,
	// calls do not wait for a dead Redis but are decided at once by
	// Outage, and after its WaitDuration one call probes Redis; shared
	// limiting resumes when a probe succeeds. A failure is any call Redis
	// did not answer in time, or answered with an error; the caller's
	// cancellation is not counted. Default nil: open after
	// [DefaultRedisFailures] failures in a row, probe after
	// [DefaultRedisWait], one probe at a time, named "redis:" + Name.
	RedisBreaker *breaker.Config

	// RefusalCache is how many keys a replica remembers as refused by
	// Redis until a known time: calls for them are refused locally, without
	// a round trip, until then (a key over its limit stays over it until
	// its debt is paid, whatever the other replicas do; Reset on another
	// replica does not reach this cache). Default 0:
	// [DefaultRefusalCache]; negative: no cache, every call asks Redis.
	RefusalCache int

	// Lease, if more than 1, makes the limiter take up to Lease tokens of a
	// key from Redis in one round trip and spend them locally, one a call,
	// within LeaseTTL: for hot keys, about Lease times fewer round trips
	// (concurrent callers wait for the one round trip in flight rather
	// than each making their own). What it trades: tokens spent locally
	// were counted in Redis when taken, so the fleet may admit up to
	// Replicas×(Lease−1) events more than the limit in a window (the
	// unspent leases of the window before it), and tokens that expire
	// unspent are lost (fewer admissions). At most Burst. It applies to
	// Allow, Execute and ExecuteKey, not to AllowN, AllowAtMost or
	// AllowLimit. Default 0: no leasing. Negative values are an error.
	Lease int

	// LeaseTTL is how long leased tokens may be spent after they were
	// taken. Default: [DefaultLeaseTTL], 1 second.
	LeaseTTL time.Duration

	// OnError, if set, is called with an *UnavailableError for every call
	// Redis did not decide, and with a *StateError when a key held
	// something that is not a limiter's state (it is overwritten), on the
	// caller's goroutine: log it, count it. It may be called concurrently.
	// Default: nil.
	OnError func(err error)

	// Observer, if not nil, hears of refusals as bulwark.KindRejected
	// events with Policy "ratelimit" (like the local limiter's) and Name
	// the limiter's: Err is a *ratelimit.LimitedError with Delay the time
	// until the call would be admitted, or, with OutageClosed, the
	// *UnavailableError. Calls admitted during an outage are not events;
	// see OnError. Default nil, which costs one nil check.
	Observer bulwark.Observer
}

// Limiter is a rate limiter whose state lives in Redis, so that every
// replica of a service shares one limit per key (client, tenant, token). It
// runs GCRA in one Lua script on the Redis server, on the server's clock:
// one round trip per decision, and the replicas' clocks do not matter.
//
// Its decisions are ratelimit.Decision values and its refusals
// *ratelimit.LimitedError errors, as the local ratelimit package's, so
// middleware written for one serves the other.
//
// A Limiter implements bulwark.Policy for the fixed key LimiterConfig.Key.
// It is safe for concurrent use by multiple goroutines.
type Limiter struct {
	client   redis.Scripter
	lim      *limits
	name     string
	prefix   string
	key      string // prefix + Config.Key, for Execute
	timeout  time.Duration
	direct   bool // the client keeps deadlines: no goroutine per call
	outage   Outage
	replicas int
	onError  func(error)
	obs      bulwark.Observer
	rb       *breaker.Breaker // around Redis
	refused  *refusals
	lease    *leases // nil without leasing

	mu     sync.Mutex
	local  map[*limits]*ratelimit.Keyed // OutageLocal's limiters, per limit
	custom map[Limit]*limits            // per-call limits, checked once

	allowed, rejected, unavailable, cached, faults atomic.Uint64
}

// maxCustomLimits bounds the per-call limits a Limiter remembers.
const maxCustomLimits = 256

// NewLimiter returns a limiter that keeps its state in Redis through client
// (a *redis.Client, *redis.ClusterClient or *redis.Ring), configured by
// cfg, or an error naming the field that is out of range. It does not
// contact Redis: the script is loaded by the first call that needs it.
func NewLimiter(client redis.Scripter, cfg LimiterConfig) (*Limiter, error) {
	if client == nil {
		return nil, errors.New("bulwarkredis: NewLimiter: client is nil")
	}
	lim, err := newLimits(cfg.Rate, cfg.Limit, cfg.Per, cfg.Burst)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("bulwarkredis: Timeout is %v; it must be positive, or 0 for the default %v", cfg.Timeout, DefaultTimeout)
	case cfg.Replicas < 0:
		return nil, fmt.Errorf("bulwarkredis: Replicas is %d; it must be positive, or 0 for the default 1", cfg.Replicas)
	case cfg.Outage > OutageClosed:
		return nil, fmt.Errorf("bulwarkredis: Outage is %v; use OutageLocal, OutageOpen or OutageClosed", cfg.Outage)
	case cfg.Lease < 0:
		return nil, fmt.Errorf("bulwarkredis: Lease is %d; it must be positive, or 0 for no leasing", cfg.Lease)
	case cfg.Lease > 0 && cfg.Lease > lim.burst && !lim.unlimited:
		return nil, fmt.Errorf("bulwarkredis: Lease is %d, more than Burst (%d): a lease is taken from the burst", cfg.Lease, lim.burst)
	case cfg.LeaseTTL < 0:
		return nil, fmt.Errorf("bulwarkredis: LeaseTTL is %v; it must be positive, or 0 for the default %v", cfg.LeaseTTL, DefaultLeaseTTL)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = "bulwark:ratelimit:" + cfg.Name + ":"
	}
	key := cfg.Key
	if key == "" {
		key = DefaultKey
	}
	bc := defaultRedisBreaker(cfg.Name)
	if cfg.RedisBreaker != nil {
		bc = *cfg.RedisBreaker
	}
	rb, err := breaker.New(bc)
	if err != nil {
		return nil, fmt.Errorf("bulwarkredis: RedisBreaker: %w", err)
	}
	cache := cfg.RefusalCache
	if cache == 0 {
		cache = DefaultRefusalCache
	}
	l := &Limiter{
		client: client, lim: lim, name: cfg.Name, prefix: prefix, key: prefix + key,
		timeout: timeout, direct: trustsDeadlines(client), outage: cfg.Outage, replicas: max(cfg.Replicas, 1),
		onError: cfg.OnError, obs: cfg.Observer, rb: rb, refused: newRefusals(cache),
		local: map[*limits]*ratelimit.Keyed{}, custom: map[Limit]*limits{},
	}
	if cfg.Lease > 1 && !lim.unlimited {
		ttl := cfg.LeaseTTL
		if ttl == 0 {
			ttl = DefaultLeaseTTL
		}
		l.lease = newLeases(cfg.Lease, ttl)
	}
	return l, nil
}

// Name returns LimiterConfig.Name.
func (l *Limiter) Name() string { return l.name }

// Allow reports whether one event for key may happen now, and if so counts
// it, with the figures of the RateLimit-* and Retry-After headers.
//
// The error is nil when Redis decided (or a recent refusal by Redis, or a
// lease of tokens, decided locally). Otherwise it is an *UnavailableError
// (matching [ErrUnavailable]) and the Decision is LimiterConfig.Outage's;
// while the breaker around Redis is open, the error's Err matches
// breaker.ErrOpen and the call costs no round trip. When the caller
// cancels ctx first, Allow returns ctx's error and a refusal; a deadline
// of ctx that passes first is a Redis failure like any other, decided by
// Outage.
func (l *Limiter) Allow(ctx context.Context, key string) (ratelimit.Decision, error) {
	d, _, err := l.decide(ctx, l.prefix+key, l.lim, 1, 1)
	return d, err
}

// AllowN is Allow for n events at once. A request of more events than the
// burst is refused with RetryAfter ratelimit.Never. AllowN panics if n is
// negative.
func (l *Limiter) AllowN(ctx context.Context, key string, n int) (ratelimit.Decision, error) {
	checkCount(n)
	d, _, err := l.decide(ctx, l.prefix+key, l.lim, n, n)
	return d, err
}

// AllowAtMost admits as many of n events for key as the limit allows now,
// at least one, and returns how many (0 with a refusal). It panics if n is
// negative; n 0 admits nothing and asks nothing.
func (l *Limiter) AllowAtMost(ctx context.Context, key string, n int) (int, ratelimit.Decision, error) {
	checkCount(n)
	if n == 0 {
		return 0, ratelimit.Decision{Allowed: true, Limit: l.lim.burst}, nil
	}
	d, got, err := l.decide(ctx, l.prefix+key, l.lim, 1, n)
	return got, d, err
}

// AllowLimit is AllowN under a limit given with the call instead of
// LimiterConfig's rate and burst, as with redis_rate. Every replica must
// use the same limit for a key. It returns an error naming the field of
// limit that is out of range. The Limiter remembers up to 256 distinct
// limits; with more, each new one is checked on every call and, with
// OutageLocal, an outage admits their calls (as OutageOpen).
func (l *Limiter) AllowLimit(ctx context.Context, key string, limit Limit, n int) (ratelimit.Decision, error) {
	checkCount(n)
	p, err := l.limitsOf(limit)
	if err != nil {
		return ratelimit.Decision{}, err
	}
	d, _, err := l.decide(ctx, l.prefix+key, p, n, n)
	return d, err
}

// Reset forgets key's state, in Redis and on this replica (its cached
// refusal and unspent lease): its next call finds a full burst. Other
// replicas keep their own cached refusals and leases until they run out.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	rkey := l.prefix + key
	l.refused.forget(rkey)
	l.lease.forget(rkey)
	del, ok := l.client.(interface {
		Del(context.Context, ...string) *redis.IntCmd
	})
	if !ok {
		return fmt.Errorf("bulwarkredis: Reset: the client (%T) has no DEL", l.client)
	}
	err := bounded(ctx, l.timeout, l.direct, func(ctx context.Context) error { return del.Del(ctx, rkey).Err() })
	if err != nil {
		return &UnavailableError{Name: l.name, Op: "reset", Err: err}
	}
	return nil
}

func checkCount(n int) {
	if n < 0 {
		panic(fmt.Sprintf("bulwarkredis: negative event count %d", n))
	}
}

// limitsOf checks a per-call limit, once for each of the first
// maxCustomLimits distinct ones.
func (l *Limiter) limitsOf(lim Limit) (*limits, error) {
	l.mu.Lock()
	p, ok := l.custom[lim]
	l.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := newLimits(lim.Rate, 0, 0, lim.Burst)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if q, ok := l.custom[lim]; ok {
		p = q
	} else if len(l.custom) < maxCustomLimits {
		l.custom[lim] = p
	}
	l.mu.Unlock()
	return p, nil
}

// Execute runs op if the limit for LimiterConfig.Key admits one event now.
// Otherwise it returns a *ratelimit.LimitedError (matching
// ratelimit.ErrLimited, implementing bulwark.RetryAfter) without running op.
// When Redis cannot decide, LimiterConfig.Outage does: op runs if admitted;
// a refusal by the local limiter is a *ratelimit.LimitedError, one by
// OutageClosed the *UnavailableError. When the caller cancels ctx first, it
// returns ctx's error. It never waits for a turn: a retry policy outside it
// honours the RetryAfter.
func (l *Limiter) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	return l.execute(ctx, l.key, op)
}

// ExecuteKey is Execute for key's limit.
func (l *Limiter) ExecuteKey(ctx context.Context, key string, op bulwark.Operation) (any, error) {
	return l.execute(ctx, l.prefix+key, op)
}

func (l *Limiter) execute(ctx context.Context, rkey string, op bulwark.Operation) (any, error) {
	d, _, err := l.decide(ctx, rkey, l.lim, 1, 1)
	if !d.Allowed {
		if err != nil && d.RetryAfter == 0 {
			return nil, err
		}
		return nil, &ratelimit.LimitedError{Name: l.name, Delay: d.RetryAfter}
	}
	return op.Call(ctx)
}

// decide takes between lo and hi events for the Redis key rkey under p,
// and returns the decision and how many it took.
func (l *Limiter) decide(ctx context.Context, rkey string, p *limits, lo, hi int) (ratelimit.Decision, int, error) {
	if p.unlimited {
		l.allowed.Add(1)
		return ratelimit.Decision{Allowed: true, Limit: p.burst, Remaining: p.burst}, hi, nil
	}
	var now time.Time
	if l.refused != nil && lo > 0 {
		now = time.Now()
		if left := l.refused.check(rkey, p, now); left > 0 {
			l.cached.Add(1)
			return l.refuse(ratelimit.Decision{Limit: p.burst, RetryAfter: left}), 0, nil
		}
	}
	fetch, leased := false, 0
	if l.lease != nil && p == l.lim && lo == 1 && hi == 1 {
		d, ok, f := l.lease.acquire(ctx, rkey, l.timeout)
		if ok {
			l.allowed.Add(1)
			d.Limit = p.burst
			return d, 1, nil
		}
		if f {
			fetch, hi = true, l.lease.size
			defer func() { l.lease.fetched(rkey, leased, time.Now()) }()
		}
	}
	permit, err := l.rb.Allow()
	if err != nil {
		return l.failed(ctx, rkey, p, lo, hi, err)
	}
	var res []any
	err = bounded(ctx, l.timeout, l.direct, func(ctx context.Context) error {
		var err error
		res, err = gcraScript.Run(ctx, l.client, []string{rkey}, p.args(lo, hi)...).Slice()
		return err
	})
	var d ratelimit.Decision
	var took, fault int
	if err == nil {
		d, took, fault, err = decision(res, p.burst)
	}
	if err != nil {
		if callerGaveUp(ctx) {
			permit.Ignore()
		} else {
			permit.Failure()
		}
		return l.failed(ctx, rkey, p, lo, hi, err)
	}
	permit.Success()
	if fault != 0 {
		l.fault(rkey, fault)
	}
	if d.Allowed {
		if fetch {
			leased, took = took-lo, lo
		}
		l.allowed.Add(1)
		return d, took, nil
	}
	if d.RetryAfter != ratelimit.Never && l.refused != nil && lo == 1 {
		if now.IsZero() {
			now = time.Now()
		}
		l.refused.add(rkey, p, now, d.RetryAfter)
	}
	return l.refuse(d), 0, nil
}

// refuse counts and reports a refusal by the limit.
func (l *Limiter) refuse(d ratelimit.Decision) ratelimit.Decision {
	l.rejected.Add(1)
	if l.obs != nil {
		l.obs.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: policyName, Name: l.name,
			Err: &ratelimit.LimitedError{Name: l.name, Delay: d.RetryAfter}, Delay: d.RetryAfter})
	}
	return d
}

// fault reports a key that held something else than a limiter's state.
func (l *Limiter) fault(rkey string, fault int) {
	l.faults.Add(1)
	if l.onError != nil {
		what := "an unreadable value"
		if fault == 2 {
			what = "a value of another type"
		}
		l.onError(&StateError{Name: l.name, Key: rkey, Problem: what + "; it was deleted and the call decided as for a full bucket"})
	}
}

// failed answers for a call Redis did not decide.
func (l *Limiter) failed(ctx context.Context, rkey string, p *limits, lo, hi int, err error) (ratelimit.Decision, int, error) {
	d := ratelimit.Decision{Limit: p.burst}
	if callerGaveUp(ctx) {
		return d, 0, ctx.Err() // the caller gave up: not Redis's failure
	}
	l.unavailable.Add(1)
	uerr := &UnavailableError{Name: l.name, Op: "allow", Err: err}
	if l.onError != nil {
		l.onError(uerr)
	}
	switch l.outage {
	case OutageOpen:
		d.Allowed = true
		return d, hi, uerr
	case OutageLocal:
		if hi == 0 { // nothing to take (AllowN of 0, or AllowAll deciding for itself)
			d.Allowed = true
			return d, 0, uerr
		}
		if k := l.localFor(p); k != nil {
			return l.decideLocally(k, rkey, p, lo, hi, uerr)
		}
		d.Allowed = true
		return d, hi, uerr
	}
	if l.obs != nil {
		l.obs.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: policyName, Name: l.name, Err: uerr})
	}
	return d, 0, uerr
}

// localFor returns the local limiter OutageLocal uses for p, or nil for a
// per-call limit beyond the ones remembered.
func (l *Limiter) localFor(p *limits) *ratelimit.Keyed {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.local[p]; ok {
		return k
	}
	if p != l.lim {
		known := false
		for _, q := range l.custom {
			known = known || q == p
		}
		if !known {
			return nil
		}
	}
	k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{
		Name:  l.name,
		Rate:  p.rate / float64(l.replicas),
		Burst: max(1, int(math.Ceil(float64(p.burst)/float64(l.replicas)))),
	}})
	if err != nil { // a rate too low once divided: admit, as OutageOpen
		return nil
	}
	l.local[p] = k
	return k
}

// decideLocally decides between lo and hi events with the local limiter k.
func (l *Limiter) decideLocally(k *ratelimit.Keyed, rkey string, p *limits, lo, hi int, uerr error) (ratelimit.Decision, int, error) {
	now := time.Now()
	n := hi
	if lo < hi {
		n = min(hi, k.CheckKeyN(rkey, now, 0).Remaining)
		n = max(n, lo)
	}
	d := k.CheckKeyN(rkey, now, n)
	if !d.Allowed {
		l.refuse(d)
		return d, 0, uerr
	}
	return d, n, uerr
}

// decision reads the script's reply: the decision, the events taken, and
// the fault code.
func decision(res []any, burst int) (ratelimit.Decision, int, int, error) {
	var v [6]int64
	if len(res) != len(v) {
		return ratelimit.Decision{}, 0, 0, fmt.Errorf("unexpected reply from the limiter script: %v", res)
	}
	for i, r := range res {
		x, ok := r.(int64)
		if !ok {
			return ratelimit.Decision{}, 0, 0, fmt.Errorf("unexpected reply from the limiter script: %v", res)
		}
		v[i] = x
	}
	d := ratelimit.Decision{
		Allowed:    v[0] == 1,
		Limit:      burst,
		Remaining:  int(v[2]),
		RetryAfter: time.Duration(v[3]),
		ResetAfter: time.Duration(v[4]),
	}
	if v[3] < 0 {
		d.RetryAfter = ratelimit.Never
	}
	return d, int(v[1]), int(v[5]), nil
}

// LimiterSnapshot holds a Limiter's live figures, counted by this process
// (other replicas count their own).
type LimiterSnapshot struct {
	Name        string
	Allowed     uint64 // calls admitted by Redis, or from a lease
	Rejected    uint64 // calls refused by the limit (Redis, a cached refusal, or the local limiter of OutageLocal)
	Cached      uint64 // of Rejected, the refusals decided from the refusal cache, without a round trip
	Unavailable uint64 // calls Redis did not decide, decided by Outage
	Faults      uint64 // keys found holding something else than a limiter's state, and overwritten
	Outage      Outage // LimiterConfig.Outage
	// RedisBreaker is the state of the breaker around Redis: open while
	// Redis is known to be down.
	RedisBreaker breaker.State
	Rate         float64 // events per second per key; +Inf when unlimited
	Burst        int     // the most events admitted at once per key
}

// Snapshot returns the limiter's current figures.
func (l *Limiter) Snapshot() LimiterSnapshot {
	return LimiterSnapshot{
		Name:         l.name,
		Allowed:      l.allowed.Load(),
		Rejected:     l.rejected.Load(),
		Cached:       l.cached.Load(),
		Unavailable:  l.unavailable.Load(),
		Faults:       l.faults.Load(),
		Outage:       l.outage,
		RedisBreaker: l.rb.State(),
		Rate:         l.lim.rate,
		Burst:        l.lim.burst,
	}
}
