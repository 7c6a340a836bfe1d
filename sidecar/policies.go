package sidecar

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/bulwarkhttp"
	"github.com/bulwark-go/bulwark/bulwarkredis"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
)

func breakerConfig(name string, b *BreakerConfig, obs bulwark.Observer) breaker.Config {
	var kind breaker.WindowKind
	switch b.Window {
	case "time":
		kind = breaker.WindowTime
	case "consecutive":
		kind = breaker.WindowConsecutive
	}
	return breaker.Config{
		Clock:                 b.clock,
		Rand:                  b.rand,
		Name:                  name,
		Window:                kind,
		WindowSize:            b.WindowSize,
		MinimumCalls:          b.MinimumCalls,
		FailureRateThreshold:  b.FailureRate,
		SlowCallRateThreshold: b.SlowCallRate,
		SlowCallDuration:      b.SlowCallDuration,
		WaitDuration:          b.Wait,
		WaitMultiplier:        b.WaitMultiplier,
		MaxWaitDuration:       b.MaxWait,
		WaitJitter:            b.WaitJitter,
		HalfOpenCalls:         b.HalfOpenCalls,
		MaxHalfOpen:           b.MaxHalfOpen,
		Observer:              obs,
	}
}

// newRetry returns the retry policy of a retry block, and its budget; the
// validator uses it to check a block.
func newRetry(name string, r *RetryConfig, obs bulwark.Observer) (*retry.Retry, *retry.Budget, error) {
	rc, budget, err := retryConfig(name, r, nil, obs)
	if err != nil {
		return nil, nil, err
	}
	rt, err := retry.New(rc)
	return rt, budget, err
}

// retryConfig returns the retry.Config of a retry block, with budget as
// its budget, or a new one made from the block when budget is nil.
func retryConfig(name string, r *RetryConfig, budget *retry.Budget, obs bulwark.Observer) (retry.Config, *retry.Budget, error) {
	var backoff retry.Backoff = retry.Constant{Interval: r.InitialBackoff}
	if r.Backoff == "exponential" {
		backoff = retry.Exponential{Initial: r.InitialBackoff, Multiplier: r.Multiplier, Max: r.MaxBackoff}
		if r.InitialBackoff == 0 {
			return retry.Config{}, nil, errors.New("initial_backoff must be positive for backoff exponential")
		}
	}
	jitter := map[string]retry.Jitter{
		"none": retry.JitterNone, "full": retry.JitterFull,
		"equal": retry.JitterEqual, "decorrelated": retry.JitterDecorrelated,
	}[r.Jitter]
	if b := r.Budget; b != nil && budget == nil {
		var err error
		budget, err = retry.NewBudget(retry.BudgetConfig{Ratio: b.Ratio, MinPerSecond: b.MinPerSecond, TTL: b.TTL})
		if err != nil {
			return retry.Config{}, nil, err
		}
	}
	return retry.Config{
		Name:          name,
		MaxAttempts:   r.MaxAttempts,
		MaxElapsed:    r.MaxElapsed,
		Backoff:       backoff,
		Jitter:        jitter,
		MaxRetryAfter: r.MaxRetryAfter,
		Rand:          r.rand,
		Clock:         r.clock,
		Budget:        budget,
		Observer:      obs,
	}, budget, nil
}

func newLimiter(name string, r *RateLimitConfig, clk bulwark.Clock, obs bulwark.Observer) (*ratelimit.Limiter, *ratelimit.Keyed, error) {
	cfg := ratelimit.Config{Name: name, Rate: r.Rate, Burst: r.Burst, Clock: clk, Observer: obs}
	if r.PerClient {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: cfg, MaxKeys: r.MaxClients})
		return nil, k, err
	}
	l, err := ratelimit.New(cfg)
	return l, nil, err
}

func newChaos(name string, c *ChaosConfig, clk bulwark.Clock, obs bulwark.Observer) (*chaos.Injector, error) {
	var faults []chaos.Fault
	if c.LatencyRate > 0 {
		faults = append(faults, chaos.Latency(c.LatencyRate, c.Latency))
	}
	if c.ErrorRate > 0 {
		faults = append(faults, chaos.Error(c.ErrorRate, &injectedStatus{code: c.ErrorStatus}))
	}
	return chaos.New(chaos.Config{Name: name, Faults: faults, Seed: c.Seed, Enabled: true, Clock: clk, Observer: obs})
}

// policies are the policy instances of one route.
type policies struct {
	budget   *retry.Budget
	breaker  *breakerEntry
	chaos    *chaos.Injector
	bulkhead *bulkhead.Bulkhead
	limiter  *ratelimit.Limiter
	keyed    *ratelimit.Keyed
	shared   *bulwarkredis.Limiter // rate_limit.redis: the limit kept in Redis
	redis    *redisClient          // shared's client

	failure   [200]bool // statuses 400..599 counted as failures
	transport *bulwarkhttp.Transport
	retry     *retry.Retry // the transport's; nil without retries
}

func (p *policies) isFailure(code int) bool {
	return code >= 400 && code <= 599 && p.failure[code-400]
}

// buildPolicies makes the policies of route rc, with br as its breaker
// (nil for none; the caller makes or reconfigures it), and the
// bulwarkhttp.Transport that sends its attempts through base. Each policy
// whose block is the same in prev, the route of the same name in the
// running config, is kept with its state; the others are made anew. The
// transport (with its retry policy and budget) is kept when nothing it is
// built from changed. A Redis client is kept when the route's Redis
// settings resolve to the same (see redisClient); a new one is closed
// again if building fails.
func buildPolicies(rc *RouteConfig, br *breakerEntry, prev *route, base http.RoundTripper, stats *routeStats, obs bulwark.Observer, log *slog.Logger) (_ *policies, err error) {
	p := &policies{breaker: br}
	for _, code := range rc.FailureStatuses {
		p.failure[code-400] = true
	}
	var old *policies
	var oc RouteConfig
	if prev != nil {
		old, oc = prev.policies, prev.cfg
	}
	switch {
	case rc.Chaos == nil:
	case old != nil && reflect.DeepEqual(rc.Chaos, oc.Chaos):
		p.chaos = old.chaos
	default:
		if p.chaos, err = newChaos(rc.Name, rc.Chaos, rc.clock, obs); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	switch b := rc.Bulkhead; {
	case b == nil:
	case old != nil && reflect.DeepEqual(b, oc.Bulkhead):
		p.bulkhead = old.bulkhead
	default:
		if p.bulkhead, err = bulkhead.New(bulkhead.Config{Name: rc.Name, MaxConcurrent: b.MaxConcurrent, MaxWait: b.MaxWait, Clock: rc.clock, Observer: obs}); err != nil {
			return nil, fmt.Errorf("bulkhead: %w", err)
		}
	}
	switch {
	case rc.RateLimit == nil:
	case rc.RateLimit.Redis != nil:
		if err := p.buildShared(rc, old, &oc, obs, log); err != nil {
			return nil, fmt.Errorf("rate_limit.%w", err)
		}
		defer func() {
			if err != nil && (old == nil || p.redis != old.redis) {
				p.redis.close()
			}
		}()
	case old != nil && reflect.DeepEqual(rc.RateLimit, oc.RateLimit):
		p.limiter, p.keyed = old.limiter, old.keyed
	default:
		if p.limiter, p.keyed, err = newLimiter(rc.Name, rc.RateLimit, rc.clock, obs); err != nil {
			return nil, fmt.Errorf("rate_limit: %w", err)
		}
	}
	if old != nil && old.breaker == br && old.chaos == p.chaos && sameTransport(rc, &oc) {
		p.transport, p.retry, p.budget = old.transport, old.retry, old.budget
		return p, nil
	}
	tc := bulwarkhttp.TransportConfig{
		Base:           &attemptBase{base: base, chaos: p.chaos, stats: stats},
		AttemptTimeout: rc.Timeout,
		Clock:          rc.clock,
		RetryStatus:    p.isFailure,
		IsFailure: func(resp *http.Response, err error) bool {
			return err != nil || p.isFailure(resp.StatusCode)
		},
	}
	if br != nil {
		name, b := rc.Name, br.br
		tc.Key = func(*http.Request) string { return name }
		tc.MaxHosts = 1
		tc.BreakerFor = func(string) *breaker.Breaker { return b }
	}
	if r := rc.Retry; r != nil {
		var budget *retry.Budget
		if old != nil && oc.Retry != nil && reflect.DeepEqual(r.Budget, oc.Retry.Budget) {
			budget = old.budget
		}
		rcfg, budget, err := retryConfig(rc.Name, r, budget, obs)
		if err != nil {
			return nil, fmt.Errorf("retry: %w", err)
		}
		p.budget = budget
		tc.Retry = &rcfg
		methods := map[string]bool{}
		for _, m := range r.Methods {
			methods[m] = true
		}
		tc.RetryRequest = func(req *http.Request) bool { return methods[req.Method] }
		tc.MaxBufferedBody = r.MaxBodyBytes
	}
	if p.transport, err = bulwarkhttp.NewTransport(tc); err != nil {
		return nil, err
	}
	p.retry = p.transport.Retry()
	return p, nil
}

// buildShared sets p's limiter kept in Redis, and its client: old's when
// the Redis settings resolve to the same, and old's limiter too when the
// whole rate_limit block is the same.
func (p *policies) buildShared(rc *RouteConfig, old *policies, oc *RouteConfig, obs bulwark.Observer, log *slog.Logger) error {
	conn, err := resolveRedis(rc.RateLimit.Redis, osGetenv)
	if err != nil {
		return err
	}
	if old != nil && old.redis.reusable(conn) {
		p.redis = old.redis
		if old.shared != nil && reflect.DeepEqual(rc.RateLimit, oc.RateLimit) {
			p.shared = old.shared
			return nil
		}
	} else {
		p.redis = newRedisClient(conn)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := sharedLimiterConfig(rc.Name, rc.RateLimit, redisErrorLog(log, rc.Name, redisLogInterval), obs)
	if p.shared, err = bulwarkredis.NewLimiter(p.redis.c, cfg); err != nil {
		if old == nil || p.redis != old.redis {
			p.redis.close()
		}
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// sameTransport reports whether two routes' transports are built from the
// same settings (the breaker and chaos instances aside).
func sameTransport(a, b *RouteConfig) bool {
	return a.Timeout == b.Timeout && reflect.DeepEqual(a.Retry, b.Retry) &&
		reflect.DeepEqual(a.FailureStatuses, b.FailureStatuses)
}
