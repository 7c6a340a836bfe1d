package sidecar

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// statusError is a failure status from the upstream (resp set, its body
// buffered) or injected by chaos (resp nil). Retries and the breaker see it
// as a failure of the attempt.
type statusError struct {
	code       int
	retryAfter time.Duration
	resp       *http.Response
}

func (e *statusError) Error() string {
	if e.resp == nil {
		return fmt.Sprintf("injected fault: status %d", e.code)
	}
	return fmt.Sprintf("upstream answered %d %s", e.code, http.StatusText(e.code))
}

// RetryAfter returns the upstream's Retry-After, so that a retry waits as
// long as the upstream asked (capped by retry.max_retry_after).
func (e *statusError) RetryAfter() time.Duration { return e.retryAfter }

var _ bulwark.RetryAfter = (*statusError)(nil)

func breakerConfig(name string, b *BreakerConfig, obs bulwark.Observer) breaker.Config {
	var kind breaker.WindowKind
	switch b.Window {
	case "time":
		kind = breaker.WindowTime
	case "consecutive":
		kind = breaker.WindowConsecutive
	}
	return breaker.Config{
		Name:                  name,
		Window:                kind,
		WindowSize:            b.WindowSize,
		MinimumCalls:          b.MinimumCalls,
		FailureRateThreshold:  b.FailureRate,
		SlowCallRateThreshold: b.SlowCallRate,
		SlowCallDuration:      b.SlowCallDuration,
		WaitDuration:          b.Wait,
		WaitMultiplier:        b.WaitMultiplier,
		MaxWait:               b.MaxWait,
		WaitJitter:            b.WaitJitter,
		HalfOpenCalls:         b.HalfOpenCalls,
		MaxHalfOpen:           b.MaxHalfOpen,
		Observer:              obs,
	}
}

func newRetry(name string, r *RetryConfig, obs bulwark.Observer) (*retry.Retry, *retry.Budget, error) {
	var backoff retry.Backoff = retry.Constant{Interval: r.InitialBackoff}
	if r.Backoff == "exponential" {
		backoff = retry.Exponential{Initial: r.InitialBackoff, Multiplier: r.Multiplier, Max: r.MaxBackoff}
		if r.InitialBackoff == 0 {
			return nil, nil, errors.New("initial_backoff must be positive for backoff exponential")
		}
	}
	jitter := map[string]retry.Jitter{
		"none": retry.JitterNone, "full": retry.JitterFull,
		"equal": retry.JitterEqual, "decorrelated": retry.JitterDecorrelated,
	}[r.Jitter]
	var budget *retry.Budget
	if b := r.Budget; b != nil {
		var err error
		budget, err = retry.NewBudget(retry.BudgetConfig{Ratio: b.Ratio, MinPerSecond: b.MinPerSecond, TTL: b.TTL})
		if err != nil {
			return nil, nil, err
		}
	}
	rt, err := retry.New(retry.Config{
		Name:          name,
		MaxAttempts:   r.MaxAttempts,
		MaxElapsed:    r.MaxElapsed,
		Backoff:       backoff,
		Jitter:        jitter,
		MaxRetryAfter: r.MaxRetryAfter,
		Budget:        budget,
		Observer:      obs,
	})
	return rt, budget, err
}

func newLimiter(name string, r *RateLimitConfig, obs bulwark.Observer) (*ratelimit.Limiter, *ratelimit.Keyed, error) {
	cfg := ratelimit.Config{Name: name, Rate: r.Rate, Burst: r.Burst, Observer: obs}
	if r.PerClient {
		k, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: cfg, MaxKeys: r.MaxClients})
		return nil, k, err
	}
	l, err := ratelimit.New(cfg)
	return l, nil, err
}

func newChaos(name string, c *ChaosConfig, obs bulwark.Observer) (*chaos.Injector, error) {
	var faults []chaos.Fault
	if c.LatencyRate > 0 {
		faults = append(faults, chaos.Latency(c.LatencyRate, c.Latency))
	}
	if c.ErrorRate > 0 {
		faults = append(faults, chaos.Error(c.ErrorRate, &statusError{code: c.ErrorStatus}))
	}
	return chaos.New(chaos.Config{Name: name, Faults: faults, Seed: c.Seed, Enabled: true, Observer: obs})
}

// policies are the policy instances of one route.
type policies struct {
	retry    *retry.Retry
	budget   *retry.Budget
	breaker  *breakerEntry
	timeout  *timeout.Timeout
	chaos    *chaos.Injector
	bulkhead *bulkhead.Bulkhead
	limiter  *ratelimit.Limiter
	keyed    *ratelimit.Keyed

	withRetry bulwark.Policy // retry, breaker, timeout, chaos
	noRetry   bulwark.Policy // breaker, timeout, chaos
}

// buildPolicies makes the policies of route rc, with br as its breaker
// (nil for none; the caller makes or reconfigures it). Each policy whose
// block is the same in prev, the route of the same name in the running
// config, is kept with its state; the others are made anew.
func buildPolicies(rc *RouteConfig, br *breakerEntry, prev *route, obs bulwark.Observer) (*policies, error) {
	p := &policies{breaker: br}
	var old *policies
	var oc RouteConfig
	if prev != nil {
		old, oc = prev.policies, prev.cfg
	}
	var err error
	switch {
	case rc.Retry == nil:
	case old != nil && reflect.DeepEqual(rc.Retry, oc.Retry):
		p.retry, p.budget = old.retry, old.budget
	default:
		if p.retry, p.budget, err = newRetry(rc.Name, rc.Retry, obs); err != nil {
			return nil, fmt.Errorf("retry: %w", err)
		}
	}
	switch {
	case rc.Timeout <= 0:
	case old != nil && rc.Timeout == oc.Timeout:
		p.timeout = old.timeout
	default:
		if p.timeout, err = timeout.New(timeout.Config{Name: rc.Name, Duration: rc.Timeout, Observer: obs}); err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
	}
	switch {
	case rc.Chaos == nil:
	case old != nil && reflect.DeepEqual(rc.Chaos, oc.Chaos):
		p.chaos = old.chaos
	default:
		if p.chaos, err = newChaos(rc.Name, rc.Chaos, obs); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	switch b := rc.Bulkhead; {
	case b == nil:
	case old != nil && reflect.DeepEqual(b, oc.Bulkhead):
		p.bulkhead = old.bulkhead
	default:
		if p.bulkhead, err = bulkhead.New(bulkhead.Config{Name: rc.Name, MaxConcurrent: b.MaxConcurrent, MaxWait: b.MaxWait, Observer: obs}); err != nil {
			return nil, fmt.Errorf("bulkhead: %w", err)
		}
	}
	switch {
	case rc.RateLimit == nil:
	case old != nil && reflect.DeepEqual(rc.RateLimit, oc.RateLimit):
		p.limiter, p.keyed = old.limiter, old.keyed
	default:
		if p.limiter, p.keyed, err = newLimiter(rc.Name, rc.RateLimit, obs); err != nil {
			return nil, fmt.Errorf("rate_limit: %w", err)
		}
	}
	var inner []bulwark.Policy
	if p.breaker != nil {
		inner = append(inner, p.breaker.br)
	}
	if p.timeout != nil {
		inner = append(inner, p.timeout)
	}
	if p.chaos != nil {
		inner = append(inner, p.chaos)
	}
	p.noRetry = bulwark.Chain(inner...)
	p.withRetry = p.noRetry
	if p.retry != nil {
		p.withRetry = bulwark.Chain(append([]bulwark.Policy{p.retry}, inner...)...)
	}
	return p, nil
}
