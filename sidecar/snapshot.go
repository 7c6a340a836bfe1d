package sidecar

import (
	"math"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
)

// snapshot is the state of every policy of every route, as GET
// /admin/policies returns it (JSON). Durations are in seconds.
type snapshot struct {
	Now        time.Time       `json:"now"`
	StartedAt  time.Time       `json:"started_at"`
	Generation uint64          `json:"generation"`
	LoadedAt   time.Time       `json:"loaded_at"`
	ConfigPath string          `json:"config_path,omitempty"`
	LastReload *reloadStatus   `json:"last_reload,omitempty"`
	Routes     []routeSnapshot `json:"routes"`
}

// routeSnapshot is one route's configuration summary, request counts and
// policies. A policy the route does not use is absent (null).
type routeSnapshot struct {
	Name        string             `json:"name"`
	Prefix      string             `json:"prefix"`
	Host        string             `json:"host,omitempty"`
	Upstream    string             `json:"upstream"`
	StripPrefix bool               `json:"strip_prefix"`
	Critical    bool               `json:"critical"`
	Counts      counts             `json:"counts"`
	Breaker     *breakerSnapshot   `json:"breaker"`
	Retry       *retrySnapshot     `json:"retry"`
	Timeout     *timeoutSnapshot   `json:"timeout"`
	Bulkhead    *bulkheadSnapshot  `json:"bulkhead"`
	RateLimit   *rateLimitSnapshot `json:"rate_limit"`
	Chaos       *chaosSnapshot     `json:"chaos"`
}

// breakerSnapshot is a route's breaker (breaker.Snapshot) with its
// thresholds and recent state changes.
type breakerSnapshot struct {
	State               string        `json:"state"`
	Since               time.Time     `json:"since"`
	Shadow              string        `json:"shadow"`
	Window              string        `json:"window"`
	WindowSize          int           `json:"window_size"`
	Calls               int           `json:"calls"`
	Failures            int           `json:"failures"`
	SlowCalls           int           `json:"slow_calls"`
	FailureRate         float64       `json:"failure_rate"`
	SlowCallRate        float64       `json:"slow_call_rate"`
	FailureThreshold    float64       `json:"failure_rate_threshold"`
	ConsecutiveFailures int           `json:"consecutive_failures"`
	Probes              int           `json:"probes"`
	ProbeFailures       int           `json:"probe_failures"`
	WaitSeconds         float64       `json:"wait_seconds"`
	OpenUntil           time.Time     `json:"open_until,omitzero"`
	RetryAfterSeconds   float64       `json:"retry_after_seconds"`
	Opened              uint64        `json:"opened"`
	Closed              uint64        `json:"closed"`
	Changes             []stateChange `json:"changes"`
}

// retrySnapshot is a route's retry policy (retry.Snapshot) and budget.
type retrySnapshot struct {
	MaxAttempts    int             `json:"max_attempts"`
	Methods        []string        `json:"methods"`
	Calls          uint64          `json:"calls"`
	Attempts       uint64          `json:"attempts"`
	Retries        uint64          `json:"retries"`
	Exhausted      uint64          `json:"exhausted"`
	BudgetRefusals uint64          `json:"budget_refusals"`
	Budget         *budgetSnapshot `json:"budget,omitempty"`
}

// budgetSnapshot is a retry budget's figures (retry.BudgetSnapshot).
type budgetSnapshot struct {
	Calls     int64  `json:"calls"`
	Retries   int64  `json:"retries"`
	Available int64  `json:"available"`
	Rejected  uint64 `json:"rejected"`
}

// timeoutSnapshot is a route's attempt timeout: Calls counts the attempts
// sent since the sidecar started, Timeouts those that ran out of time.
type timeoutSnapshot struct {
	Seconds  float64 `json:"seconds"`
	Calls    uint64  `json:"calls"`
	Timeouts uint64  `json:"timeouts"`
}

// bulkheadSnapshot is a route's bulkhead (bulkhead.Snapshot).
type bulkheadSnapshot struct {
	Capacity       int     `json:"capacity"`
	InUse          int     `json:"in_use"`
	Waiting        int     `json:"waiting"`
	Acquired       uint64  `json:"acquired"`
	Rejected       uint64  `json:"rejected"`
	MaxWaitSeconds float64 `json:"max_wait_seconds"`
}

// rateLimitSnapshot is a route's rate limit (ratelimit.Snapshot or
// KeyedSnapshot). Tokens is set for a global limit, Clients and MaxClients
// for a per-client one.
type rateLimitSnapshot struct {
	PerClient  bool     `json:"per_client"`
	Rate       float64  `json:"rate"`
	Burst      int      `json:"burst"`
	Allowed    uint64   `json:"allowed"`
	Rejected   uint64   `json:"rejected"`
	Tokens     *float64 `json:"tokens,omitempty"`
	Clients    int      `json:"clients,omitempty"`
	MaxClients int      `json:"max_clients,omitempty"`
	// Redis is set for a limit kept in Redis (rate_limit.redis).
	Redis *redisLimitSnapshot `json:"redis,omitempty"`
}

// redisLimitSnapshot is a limit kept in Redis (bulwarkredis.LimiterSnapshot).
type redisLimitSnapshot struct {
	Addr string `json:"addr"`
	// Outage is the mode deciding while Redis is out: local, open or
	// closed.
	Outage string `json:"outage"`
	// Breaker is the state of the breaker around Redis: "open" while Redis
	// is known to be down and requests are decided by Outage at once.
	Breaker string `json:"breaker"`
	// Unavailable counts the requests Redis did not decide.
	Unavailable uint64 `json:"unavailable"`
	// Cached counts the refusals decided locally, without a round trip,
	// for a key Redis refused until a known time.
	Cached uint64 `json:"cached"`
	// Faults counts keys that held something else than a limit's state.
	Faults uint64 `json:"faults"`
}

// chaosSnapshot is a route's fault injector (chaos.Snapshot).
type chaosSnapshot struct {
	Enabled     bool    `json:"enabled"`
	Seed        int64   `json:"seed"`
	ErrorRate   float64 `json:"error_rate"`
	LatencyRate float64 `json:"latency_rate"`
	Calls       uint64  `json:"calls"`
	Errors      uint64  `json:"errors"`
	Latencies   uint64  `json:"latencies"`
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// snapshot reads every policy of every route now.
func (s *Server) snapshot() snapshot {
	g := s.gen.Load()
	now := time.Now()
	out := snapshot{
		Now: now, StartedAt: s.started, Generation: g.n, LoadedAt: g.loaded,
		ConfigPath: s.opts.ConfigPath, LastReload: s.lastReload.Load(),
		Routes: make([]routeSnapshot, 0, len(g.routes)),
	}
	for _, r := range g.routes {
		out.Routes = append(out.Routes, r.snapshot(now))
	}
	return out
}

func (r *route) snapshot(now time.Time) routeSnapshot {
	c := &r.cfg
	rs := routeSnapshot{
		Name: c.Name, Prefix: c.Prefix, Host: c.Host, Upstream: c.Upstream,
		StripPrefix: c.StripPrefix, Critical: c.Critical, Counts: r.stats.counts(),
	}
	if e := r.breaker; e != nil {
		b := e.br.Snapshot()
		th := c.Breaker.FailureRate
		if th == 0 {
			th = breaker.DefaultFailureRateThreshold
		}
		bs := &breakerSnapshot{
			State: b.State.String(), Since: b.Since, Shadow: b.Shadow.String(),
			Window: b.Window.String(), WindowSize: b.WindowSize,
			Calls: b.Calls, Failures: b.Failures, SlowCalls: b.SlowCalls,
			FailureRate: b.FailureRate, SlowCallRate: b.SlowCallRate, FailureThreshold: th,
			ConsecutiveFailures: b.ConsecutiveFailures, Probes: b.Probes, ProbeFailures: b.ProbeFailures,
			WaitSeconds: seconds(b.Wait), OpenUntil: b.OpenUntil,
			Opened: e.opened.Load(), Closed: e.closed.Load(), Changes: e.recent(),
		}
		if !b.OpenUntil.IsZero() && b.OpenUntil.After(now) {
			bs.RetryAfterSeconds = seconds(b.OpenUntil.Sub(now))
		}
		rs.Breaker = bs
	}
	if r.retry != nil {
		x := r.retry.Snapshot()
		rs.Retry = &retrySnapshot{
			MaxAttempts: c.Retry.MaxAttempts, Methods: c.Retry.Methods,
			Calls: x.Calls, Attempts: x.Attempts, Retries: x.Retries, Exhausted: x.Exhausted, BudgetRefusals: x.BudgetRefusals,
		}
		if r.budget != nil {
			b := r.budget.Snapshot()
			rs.Retry.Budget = &budgetSnapshot{Calls: b.Calls, Retries: b.Retries, Available: b.Available, Rejected: b.Rejected}
		}
	}
	if c.Timeout > 0 {
		rs.Timeout = &timeoutSnapshot{Seconds: seconds(c.Timeout), Calls: r.stats.attempts.Load(), Timeouts: r.stats.timeouts.Load()}
	}
	if r.bulkhead != nil {
		x := r.bulkhead.Snapshot()
		rs.Bulkhead = &bulkheadSnapshot{
			Capacity: x.Capacity, InUse: x.InUse, Waiting: x.Waiting, Acquired: x.Acquired, Rejected: x.Rejected,
			MaxWaitSeconds: seconds(c.Bulkhead.MaxWait),
		}
	}
	if r.limiter != nil {
		x := r.limiter.Snapshot()
		tokens := x.Tokens
		rs.RateLimit = &rateLimitSnapshot{Rate: finite(x.Rate), Burst: x.Burst, Allowed: x.Allowed, Rejected: x.Rejected, Tokens: &tokens}
	}
	if r.keyed != nil {
		x := r.keyed.Snapshot()
		rs.RateLimit = &rateLimitSnapshot{
			PerClient: true, Rate: finite(x.Rate), Burst: x.Burst, Allowed: x.Allowed, Rejected: x.Rejected,
			Clients: x.Keys, MaxClients: x.MaxKeys,
		}
	}
	if r.shared != nil {
		x := r.shared.Snapshot()
		rs.RateLimit = &rateLimitSnapshot{
			PerClient: c.RateLimit.PerClient, Rate: finite(x.Rate), Burst: x.Burst, Allowed: x.Allowed, Rejected: x.Rejected,
			Redis: &redisLimitSnapshot{
				Addr: c.RateLimit.Redis.Addr, Outage: x.Outage.String(), Breaker: x.RedisBreaker.String(),
				Unavailable: x.Unavailable, Cached: x.Cached, Faults: x.Faults,
			},
		}
	}
	if r.chaos != nil {
		x := r.chaos.Snapshot()
		rs.Chaos = &chaosSnapshot{
			Enabled: x.Enabled, Seed: x.Seed, ErrorRate: c.Chaos.ErrorRate, LatencyRate: c.Chaos.LatencyRate,
			Calls: x.Calls, Errors: x.Errors, Latencies: x.Latencies,
		}
	}
	return rs
}

// finite maps an unlimited rate (+Inf), which JSON cannot carry, to 0.
func finite(f float64) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return f
}
