package bulwarkredis

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
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

	// Timeout bounds each call to Redis (it is applied to the caller's
	// context, which may end sooner). Default: [DefaultTimeout], 100ms.
	// go-redis applies a context's deadline to socket reads and writes only
	// when the client's Options.ContextTimeoutEnabled is true; otherwise a
	// stalled server holds a call for the client's ReadTimeout (3 s by
	// default). Negative values are an error.
	Timeout time.Duration

	// FailClosed refuses calls when Redis cannot decide within Timeout
	// (unreachable, slow, or answering with an error). Default false:
	// fail open, admitting such calls, so that a Redis outage does not stop
	// the service (the limit is then not enforced). Either way the failure
	// is returned by Allow as an *UnavailableError and told to OnError.
	FailClosed bool

	// OnError, if set, is called with an *UnavailableError for every call
	// Redis did not decide, on the caller's goroutine: log it, count it.
	// It may be called concurrently. Default: nil.
	OnError func(err error)

	// Observer, if not nil, hears of refusals as bulwark.KindRejected
	// events with Policy "ratelimit" (like the local limiter's) and Name
	// the limiter's: Err is a *ratelimit.LimitedError with Delay the time
	// until the call would be admitted, or, failing closed, the
	// *UnavailableError. Calls admitted while failing open are not
	// events; see OnError. Default nil, which costs one nil check.
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
	client     redis.Scripter
	lim        *limits
	name       string
	prefix     string
	key        string // prefix + Config.Key, for Execute
	timeout    time.Duration
	failClosed bool
	onError    func(error)
	obs        bulwark.Observer

	allowed, rejected, unavailable atomic.Uint64
}

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
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("bulwarkredis: Timeout is %v; it must be positive, or 0 for the default %v", cfg.Timeout, DefaultTimeout)
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
	return &Limiter{
		client: client, lim: lim, name: cfg.Name, prefix: prefix, key: prefix + key,
		timeout: timeout, failClosed: cfg.FailClosed, onError: cfg.OnError, obs: cfg.Observer,
	}, nil
}

// Name returns LimiterConfig.Name.
func (l *Limiter) Name() string { return l.name }

// Allow reports whether one event for key may happen now, and if so counts
// it, with the figures of the RateLimit-* and Retry-After headers.
//
// The error is nil when Redis decided. Otherwise it is an *UnavailableError
// (matching [ErrUnavailable]) and the Decision is the fail mode's: Allowed
// unless LimiterConfig.FailClosed, Limit set, the other figures 0; or, when
// ctx ended first, ctx's error and a refusal.
func (l *Limiter) Allow(ctx context.Context, key string) (ratelimit.Decision, error) {
	return l.decide(ctx, l.prefix+key, 1)
}

// AllowN is Allow for n events at once. A request of more events than the
// burst is refused with RetryAfter ratelimit.Never. AllowN panics if n is
// negative.
func (l *Limiter) AllowN(ctx context.Context, key string, n int) (ratelimit.Decision, error) {
	if n < 0 {
		panic(fmt.Sprintf("bulwarkredis: negative event count %d", n))
	}
	return l.decide(ctx, l.prefix+key, n)
}

// Execute runs op if the limit for LimiterConfig.Key admits one event now.
// Otherwise it returns a *ratelimit.LimitedError (matching
// ratelimit.ErrLimited, implementing bulwark.RetryAfter) without running op.
// When Redis cannot decide, it runs op (failing open) or returns the
// *UnavailableError (failing closed); when ctx ends first, it returns ctx's
// error. It never waits for a turn: a retry policy outside it honours the
// RetryAfter.
func (l *Limiter) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	return l.execute(ctx, l.key, op)
}

// ExecuteKey is Execute for key's limit.
func (l *Limiter) ExecuteKey(ctx context.Context, key string, op bulwark.Operation) (any, error) {
	return l.execute(ctx, l.prefix+key, op)
}

func (l *Limiter) execute(ctx context.Context, rkey string, op bulwark.Operation) (any, error) {
	d, err := l.decide(ctx, rkey, 1)
	switch {
	case err != nil && !d.Allowed:
		return nil, err
	case !d.Allowed:
		return nil, &ratelimit.LimitedError{Name: l.name, Delay: d.RetryAfter}
	}
	return op.Call(ctx)
}

// decide asks Redis about n events for the Redis key rkey.
func (l *Limiter) decide(ctx context.Context, rkey string, n int) (ratelimit.Decision, error) {
	p := l.lim
	if p.unlimited {
		l.allowed.Add(1)
		return ratelimit.Decision{Allowed: true, Limit: p.burst, Remaining: p.burst}, nil
	}
	cctx, cancel := ctx, context.CancelFunc(nil)
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > l.timeout {
		cctx, cancel = context.WithTimeout(ctx, l.timeout)
	}
	res, err := gcraScript.Run(cctx, l.client, []string{rkey}, p.args(n)...).Slice()
	if cancel != nil {
		cancel()
	}
	var d ratelimit.Decision
	if err == nil {
		d, err = decision(res, p.burst)
	}
	if err != nil {
		return l.failed(ctx, err)
	}
	if d.Allowed {
		l.allowed.Add(1)
		return d, nil
	}
	l.rejected.Add(1)
	if l.obs != nil {
		l.obs.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: policyName, Name: l.name,
			Err: &ratelimit.LimitedError{Name: l.name, Delay: d.RetryAfter}, Delay: d.RetryAfter})
	}
	return d, nil
}

// failed answers for a call Redis did not decide.
func (l *Limiter) failed(ctx context.Context, err error) (ratelimit.Decision, error) {
	d := ratelimit.Decision{Limit: l.lim.burst}
	if cerr := ctx.Err(); cerr != nil {
		return d, cerr // the caller gave up: not Redis's failure
	}
	l.unavailable.Add(1)
	uerr := &UnavailableError{Name: l.name, Op: "allow", Err: err}
	if l.onError != nil {
		l.onError(uerr)
	}
	if !l.failClosed {
		d.Allowed = true
		return d, uerr
	}
	if l.obs != nil {
		l.obs.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: policyName, Name: l.name, Err: uerr})
	}
	return d, uerr
}

// decision reads the script's reply.
func decision(res []any, burst int) (ratelimit.Decision, error) {
	var v [4]int64
	if len(res) != len(v) {
		return ratelimit.Decision{}, fmt.Errorf("unexpected reply from the limiter script: %v", res)
	}
	for i, r := range res {
		x, ok := r.(int64)
		if !ok {
			return ratelimit.Decision{}, fmt.Errorf("unexpected reply from the limiter script: %v", res)
		}
		v[i] = x
	}
	d := ratelimit.Decision{
		Allowed:    v[0] == 1,
		Limit:      burst,
		Remaining:  int(v[1]),
		RetryAfter: time.Duration(v[2]),
		ResetAfter: time.Duration(v[3]),
	}
	if v[2] < 0 {
		d.RetryAfter = ratelimit.Never
	}
	return d, nil
}

// LimiterSnapshot holds a Limiter's live figures, counted by this process
// (other replicas count their own).
type LimiterSnapshot struct {
	Name        string
	Allowed     uint64  // calls Redis admitted
	Rejected    uint64  // calls Redis refused
	Unavailable uint64  // calls Redis did not decide: admitted when failing open, refused when failing closed
	FailClosed  bool    // LimiterConfig.FailClosed
	Rate        float64 // events per second per key; +Inf when unlimited
	Burst       int     // the most events admitted at once per key
}

// Snapshot returns the limiter's current figures.
func (l *Limiter) Snapshot() LimiterSnapshot {
	return LimiterSnapshot{
		Name:        l.name,
		Allowed:     l.allowed.Load(),
		Rejected:    l.rejected.Load(),
		Unavailable: l.unavailable.Load(),
		FailClosed:  l.failClosed,
		Rate:        l.lim.rate,
		Burst:       l.lim.burst,
	}
}
