package sidecar

import (
	"github.com/bulwark-go/bulwark"
	"math/rand/v2"
	"net/http"
	"time"
)

// Defaults filled in by [ParseConfig] for the fields of [Config] that
// belong to the sidecar itself. The fields of the policy blocks (breaker,
// bulkhead, ...) that are left zero take the defaults of the policy packages,
// listed in the config reference (docs/sidecar.md).
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultAdminListen     = "127.0.0.1:9901"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultMaxAttempts     = 3
	DefaultInitialBackoff  = 25 * time.Millisecond
	DefaultMaxBackoff      = time.Second
	DefaultMaxRetryAfter   = 2 * time.Second
	DefaultMaxBodyBytes    = 1 << 20
	DefaultChaosStatus     = http.StatusServiceUnavailable
	MinPollInterval        = 100 * time.Millisecond
	MaxRetryAttempts       = 10
	// MaxTimeout caps every duration of the config (timeouts, waits,
	// backoffs): a larger one is surely a mistake, and sums of them must
	// not overflow.
	MaxTimeout = 24 * time.Hour
	// MaxBodyBytesLimit caps retry.max_body_bytes: the most a request body
	// may be held in memory to be sent again.
	MaxBodyBytesLimit = 1 << 30
	// MaxClientsLimit caps rate_limit.max_clients.
	MaxClientsLimit = 10_000_000
	// MaxMinimumCalls caps breaker.minimum_calls for a time window (a
	// count window's is capped by its window_size): a breaker that needs
	// more calls than that in its window would, in practice, never open.
	MaxMinimumCalls = 10_000_000
)

// DefaultFailureStatuses returns the upstream response codes counted as
// failures (retried, and counted by the breaker) when a route sets no
// failure_statuses: a new slice on each call.
func DefaultFailureStatuses() []int { return []int{500, 502, 503, 504} }

// DefaultRetryMethods returns the methods a route retries when its retry
// block sets no methods: the safe methods, a new slice on each call. PUT,
// DELETE and TRACE are idempotent too and may be listed; POST and PATCH may
// not.
func DefaultRetryMethods() []string {
	return []string{http.MethodGet, http.MethodHead, http.MethodOptions}
}

// Config is a bulwark sidecar configuration, as read from its YAML file by
// [ParseConfig]. Each field's yaml key is given in its tag; the reference
// with every key, type, default and meaning is docs/sidecar.md.
type Config struct {
	// Listen is the proxy's listen address. Default [DefaultListen].
	Listen string `yaml:"listen"`
	// Admin configures the admin API and dashboard.
	Admin AdminConfig `yaml:"admin"`
	// Reload configures reloading of the config file.
	Reload ReloadConfig `yaml:"reload"`
	// ShutdownTimeout bounds a graceful shutdown: requests in flight get
	// this long to finish. Default [DefaultShutdownTimeout].
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TrustedProxies lists the addresses (an IP or a CIDR prefix such as
	// 10.0.0.0/8) of the proxies in front of the sidecar. Only a request
	// from one of them has its X-Forwarded-For believed: the client is the
	// rightmost entry not in the list (bulwarkhttp.ClientIP), used by
	// per-client rate limits, and the sidecar appends to that header
	// instead of replacing it. Default: none; X-Forwarded-For and
	// X-Real-IP from clients are replaced.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Routes are the proxied routes. At least one is required.
	Routes []RouteConfig `yaml:"routes"`
	// FastPath serves plain HTTP/1.1 requests without a body on bulwark's
	// own HTTP/1.1 engine instead of net/http's server and ReverseProxy,
	// with the same policies, at about half the CPU per request; every
	// other request, and every request of a route with a per-client or
	// Redis rate limit, is served by net/http as before. Read at start, as
	// Listen. See docs/sidecar.md, "The fast path".
	FastPath bool `yaml:"fast_path"`
}

// AdminConfig configures the admin listener.
type AdminConfig struct {
	// Listen is the admin API's listen address. Default
	// [DefaultAdminListen]. An address that is not on loopback (":9901",
	// "0.0.0.0:9901", a routable IP or name) requires a token.
	Listen string `yaml:"listen"`
	// TokenFile names a file holding the admin API's bearer token (its
	// surrounding white space removed; at least [MinAdminTokenLength]
	// bytes). When a token is set, every admin endpoint but the dashboard
	// page and the Public ones requires "Authorization: Bearer <token>",
	// on loopback too. The token is read at start and on each reload; it
	// is never logged nor served. Default "": no token. At most one of
	// TokenFile and TokenEnv.
	TokenFile string `yaml:"token_file"`
	// TokenEnv names an environment variable holding the bearer token,
	// as TokenFile. Default "".
	TokenEnv string `yaml:"token_env"`
	// Public lists the read-only endpoints left open when a token is set:
	// any of "/metrics", "/healthz" and "/readyz" (for a scraper or a
	// probe that has no token). Default: none.
	Public []string `yaml:"public"`
	// Hosts are the names, besides localhost, *.localhost and IP
	// literals, that the admin API accepts in a request's Host header
	// (compared without port, case-insensitively). Any other Host is
	// refused, so that a DNS-rebinding page cannot reach the API.
	Hosts []string `yaml:"hosts"`
}

// ReloadConfig configures reloading. A reload is also triggered by SIGHUP
// and by POST /admin/reload, whatever this says.
type ReloadConfig struct {
	// Poll, when positive, re-reads the config file at this interval and
	// reloads it when its content changed. Default 0: no polling. At least
	// [MinPollInterval] when set.
	Poll time.Duration `yaml:"poll"`
}

// RouteConfig is one route: the requests it matches, the upstream it sends
// them to and the policies it applies.
type RouteConfig struct {
	// clock, when set (by bulwark simulate), is the clock of the route's
	// bulkhead, rate limiter and attempt timeout.
	clock bulwark.Clock

	// Name identifies the route in the admin API, metrics and logs.
	// Required, unique; letters, digits, '_', '-' and '.', at most 64.
	Name string `yaml:"name"`
	// Prefix is the path prefix the route matches (a plain string prefix:
	// "/api" matches "/api", "/api/x" and "/apix"). Required; starts with
	// "/".
	Prefix string `yaml:"prefix"`
	// Host, if set, restricts the route to requests for this host
	// (compared without port, case-insensitively).
	Host string `yaml:"host"`
	// Upstream is the base URL requests are sent to: http or https, with a
	// host, optionally a path that is prepended to the request's.
	Upstream string `yaml:"upstream"`
	// StripPrefix removes Prefix from the path before forwarding.
	StripPrefix bool `yaml:"strip_prefix"`
	// FailureStatuses are the upstream response codes counted as failures:
	// retried (for retryable methods) and counted by the breaker. Default
	// [DefaultFailureStatuses]. Each in 400..599.
	FailureStatuses []int `yaml:"failure_statuses"`
	// Critical makes the route's open breaker turn /readyz to 503.
	Critical bool `yaml:"critical"`
	// Timeout bounds each attempt, until the upstream's response headers
	// arrive. Default 0: no timeout. A timed-out attempt is a failure for
	// the breaker and is retried; the client gets 504.
	Timeout time.Duration `yaml:"timeout"`
	// RequestTimeout bounds the whole request in the proxy: reading the
	// client's body, every attempt, the backoff and Retry-After waits
	// between them, and copying the response. A retry whose wait would end
	// past it is not made (the client gets the last answer at once); when
	// it passes, the client gets 504 "timeout" (408 "body_timeout" while
	// its own body was being read). Default 0: no limit. At most
	// [MaxTimeout].
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ClientBodyTimeout bounds each read of the client's request body: a
	// client that sends nothing for this long gets 408 "body_timeout", and
	// its bulkhead slot is freed. Default 0: no idle limit (the request
	// deadline, if any, still applies). At most [MaxTimeout].
	ClientBodyTimeout time.Duration `yaml:"client_body_timeout"`

	Retry     *RetryConfig     `yaml:"retry"`      // nil: no retries
	Breaker   *BreakerConfig   `yaml:"breaker"`    // nil: no circuit breaker
	Bulkhead  *BulkheadConfig  `yaml:"bulkhead"`   // nil: no concurrency limit
	RateLimit *RateLimitConfig `yaml:"rate_limit"` // nil: no rate limit
	Chaos     *ChaosConfig     `yaml:"chaos"`      // nil: no fault injection
}

// RetryConfig configures a route's retries (the retry package).
type RetryConfig struct {
	// MaxAttempts is the number of attempts, the first included.
	// Default [DefaultMaxAttempts]; 1..[MaxRetryAttempts].
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is "exponential" (default) or "constant".
	Backoff string `yaml:"backoff"`
	// InitialBackoff is the first wait (the only one for constant).
	// Default [DefaultInitialBackoff].
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the exponential wait. Default [DefaultMaxBackoff].
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Multiplier grows the exponential wait. Default 2; at least 1.
	Multiplier float64 `yaml:"multiplier"`
	// Jitter is "none", "full" (default), "equal" or "decorrelated".
	Jitter string `yaml:"jitter"`
	// MaxElapsed stops retrying once the next attempt would start this long
	// after the request arrived. Default 0: no limit.
	MaxElapsed time.Duration `yaml:"max_elapsed"`
	// MaxRetryAfter caps a Retry-After delay sent by the upstream with a
	// failure status. Default [DefaultMaxRetryAfter].
	MaxRetryAfter time.Duration `yaml:"max_retry_after"`
	// Methods are the methods retried. Default [DefaultRetryMethods];
	// only idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE).
	Methods []string `yaml:"methods"`
	// MaxBodyBytes is the largest request body kept in memory to be sent
	// again; a request with a larger body is not retried. Default
	// [DefaultMaxBodyBytes].
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Budget, if set, caps retries at a share of recent requests.
	Budget *BudgetConfig `yaml:"budget"`

	// rand, when set (by bulwark simulate), is the jitter's source, so that
	// a simulation repeats; nil: the runtime's generator.
	rand rand.Source
	// clock, when set (by bulwark simulate), is the policy's clock.
	clock bulwark.Clock
}

// BudgetConfig configures a retry budget (retry.BudgetConfig).
type BudgetConfig struct {
	Ratio        float64       `yaml:"ratio"`          // retries per request; default 0.2
	MinPerSecond float64       `yaml:"min_per_second"` // retries always allowed per second; default 10
	TTL          time.Duration `yaml:"ttl"`            // window; default 10s, 1s..5m
}

// BreakerConfig configures a route's circuit breaker (breaker.Config).
// Zero fields take the breaker package's defaults.
type BreakerConfig struct {
	Window           string        `yaml:"window"`             // "count" (default), "time" or "consecutive"
	WindowSize       int           `yaml:"window_size"`        // calls, seconds, or failures in a row; default 100, 60, 5
	MinimumCalls     int           `yaml:"minimum_calls"`      // default 10 (or window_size if smaller)
	FailureRate      float64       `yaml:"failure_rate"`       // (0,1], default 0.5
	SlowCallRate     float64       `yaml:"slow_call_rate"`     // (0,1], default 1; needs slow_call_duration
	SlowCallDuration time.Duration `yaml:"slow_call_duration"` // default 0: off
	Wait             time.Duration `yaml:"wait"`               // open time; default 30s
	WaitMultiplier   float64       `yaml:"wait_multiplier"`    // ≥1, default 1
	MaxWait          time.Duration `yaml:"max_wait"`           // default 10×wait
	WaitJitter       float64       `yaml:"wait_jitter"`        // [0,1), default 0
	HalfOpenCalls    int           `yaml:"half_open_calls"`    // default 3
	MaxHalfOpen      time.Duration `yaml:"max_half_open"`      // default 1m

	clock bulwark.Clock // set by bulwark simulate: the breaker's clock
	rand  rand.Source   // set by bulwark simulate: wait_jitter's source; nil: the runtime's generator
}

// BulkheadConfig configures a route's concurrency limit (bulkhead.Config).
type BulkheadConfig struct {
	// MaxConcurrent is the most requests in flight. Required.
	MaxConcurrent int `yaml:"max_concurrent"`
	// MaxWait is how long a request may queue for a slot. Default 0:
	// rejected at once with 503.
	MaxWait time.Duration `yaml:"max_wait"`
}

// RateLimitConfig configures a route's rate limit (ratelimit package).
type RateLimitConfig struct {
	// Rate is the sustained rate in requests per second. Required.
	Rate float64 `yaml:"rate"`
	// Burst is how many requests may come at once. Default: Rate rounded
	// up, at least 1.
	Burst int `yaml:"burst"`
	// PerClient gives each client its own limit instead of one for all.
	PerClient bool `yaml:"per_client"`
	// ClientHeader names the request header that identifies a client
	// (per_client only). Default "": the client's IP address; a request
	// without the header is keyed by IP too.
	ClientHeader string `yaml:"client_header"`
	// MaxClients bounds the clients remembered (per_client only). Default
	// 100000. Not with Redis, which keeps the clients itself.
	MaxClients int `yaml:"max_clients"`
	// Redis, if set, keeps the limit in Redis (package bulwarkredis), so
	// that every replica of the sidecar sharing the Redis and the key
	// prefix shares one limit: rate and burst are the fleet's. Default
	// nil: the limit is this process's own.
	Redis *RedisLimitConfig `yaml:"redis"`
}

// RedisLimitConfig shares a route's rate limit across replicas through
// Redis (bulwarkredis.LimiterConfig). Every replica sharing the limit must
// give the same rate, burst and key prefix.
type RedisLimitConfig struct {
	// Addr is the Redis server's host:port. Required.
	Addr string `yaml:"addr"`
	// Username is the ACL user to authenticate as. Default "": the
	// default user.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the password,
	// read at start and on each reload. Default "": no password.
	PasswordEnv string `yaml:"password_env"`
	// DB is the Redis database number. Default 0.
	DB int `yaml:"db"`
	// KeyPrefix is put before the limit's keys. Default
	// "bulwark:ratelimit:" + the route's name + ":", so that replicas
	// sharing a route name share its limit.
	KeyPrefix string `yaml:"key_prefix"`
	// Timeout bounds each call to Redis (the request's deadline too, if
	// sooner). Default 0: bulwarkredis.DefaultTimeout, 100ms. At most
	// [MaxTimeout].
	Timeout time.Duration `yaml:"timeout"`
	// Outage decides the requests Redis did not decide (down, frozen,
	// slower than Timeout): "local" (default) limits each replica to
	// rate/replicas on its own, "open" admits them, "closed" refuses them.
	Outage string `yaml:"outage"`
	// Replicas is the number of replicas expected to share the limit, for
	// outage "local". Default 1.
	Replicas int `yaml:"replicas"`
	// Lease, if more than 1, takes up to this many tokens from Redis in
	// one round trip and spends them locally: fewer round trips, and the
	// fleet may admit up to replicas×(lease−1) more than the limit in a
	// window. At most burst. Default 0: every request asks Redis.
	Lease int `yaml:"lease"`
	// LeaseTTL is how long leased tokens may be spent. Default 0:
	// bulwarkredis.DefaultLeaseTTL, 1s. With lease only; at most
	// [MaxTimeout].
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// ChaosConfig injects faults into a route (chaos package), for demos and
// game days. The faults are applied where the upstream would be called, so
// the other policies see them as the upstream's.
type ChaosConfig struct {
	ErrorRate   float64       `yaml:"error_rate"`   // share of attempts answered with error_status, [0,1]
	ErrorStatus int           `yaml:"error_status"` // default 503; 400..599
	LatencyRate float64       `yaml:"latency_rate"` // share of attempts delayed, [0,1]
	Latency     time.Duration `yaml:"latency"`      // the delay; required with latency_rate
	Seed        int64         `yaml:"seed"`         // default 0: random
}
