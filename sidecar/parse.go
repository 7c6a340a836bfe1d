package sidecar

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/bulwarkredis"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

// ParseConfig reads a YAML config, fills in the sidecar's defaults and
// validates it. Every problem found is reported in a [ConfigErrors] (which
// matches [ErrConfig]), each naming its key path:
//
//	routes[1].breaker.failure_rate: must be in (0,1], got 1.5 (line 14)
//
// Unknown keys, keys given twice, values of the wrong type and values out of
// range are errors; nothing is silently dropped or adjusted.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{}
	d, err := parseYAML(data, c)
	if err != nil {
		return nil, err // not YAML, or not one document: nothing to validate
	}
	// Validate what was decoded, even if some of it was not, so that one
	// run reports every problem; a value the decoder already refused is
	// not reported again.
	v := &validator{lines: d.lines, refused: d.errs}
	v.config(c)
	if errs := mergeErrors(d.errs, v.errs); len(errs) > 0 {
		return nil, capErrors(errs, d.dropped+v.dropped)
	}
	applyDefaults(c)
	return c, nil
}

// LoadConfig reads and parses the config file at path.
func LoadConfig(path string) (*Config, []byte, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, data, fmt.Errorf("%s: %w", path, err)
	}
	return c, data, nil
}

func applyDefaults(c *Config) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Admin.Listen == "" {
		c.Admin.Listen = DefaultAdminListen
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.FailureStatuses == nil {
			r.FailureStatuses = DefaultFailureStatuses()
		}
		if rt := r.Retry; rt != nil {
			if rt.MaxAttempts == 0 {
				rt.MaxAttempts = DefaultMaxAttempts
			}
			if rt.Backoff == "" {
				rt.Backoff = "exponential"
			}
			if rt.InitialBackoff == 0 {
				rt.InitialBackoff = DefaultInitialBackoff
			}
			if rt.Backoff == "exponential" {
				if rt.MaxBackoff == 0 {
					rt.MaxBackoff = max(DefaultMaxBackoff, rt.InitialBackoff)
				}
				if rt.Multiplier == 0 {
					rt.Multiplier = 2
				}
			}
			if rt.Jitter == "" {
				rt.Jitter = "full"
			}
			if rt.MaxRetryAfter == 0 {
				rt.MaxRetryAfter = DefaultMaxRetryAfter
			}
			if rt.Methods == nil {
				rt.Methods = DefaultRetryMethods()
			}
			if rt.MaxBodyBytes == 0 {
				rt.MaxBodyBytes = DefaultMaxBodyBytes
			}
		}
		if rl := r.RateLimit; rl != nil && rl.Burst == 0 {
			rl.Burst = max(1, int(math.Ceil(rl.Rate)))
		}
		if ch := r.Chaos; ch != nil && ch.ErrorStatus == 0 {
			ch.ErrorStatus = DefaultChaosStatus
		}
	}
}

type validator struct {
	errs    ConfigErrors
	dropped int // problems past MaxReportedErrors
	lines   map[string]int
	refused ConfigErrors // the decoder's: no second report under these paths
}

func (v *validator) fail(path, format string, args ...any) {
	for _, e := range v.refused {
		if related(path, e.Path) {
			return
		}
	}
	if len(v.errs) >= MaxReportedErrors {
		v.dropped++
		return
	}
	line := v.lines[path]
	for p := path; line == 0 && p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		line = v.lines[p]
	}
	v.errs = append(v.errs, &ConfigError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// set reports whether the key at path appeared in the file.
func (v *validator) set(path string) bool { _, ok := v.lines[path]; return ok }

// duration checks a duration in [0, MaxTimeout].
func (v *validator) duration(path string, d time.Duration) {
	if d < 0 || d > MaxTimeout {
		v.fail(path, "must be in 0..%v, got %v", MaxTimeout, d)
	}
}

func (v *validator) nonNegative(path string, d time.Duration) {
	if d < 0 {
		v.fail(path, "must not be negative, got %v", d)
	} else if d > MaxTimeout {
		v.fail(path, "must be at most %v, got %v", MaxTimeout, d)
	}
}

func (v *validator) rate(path string, f float64, zeroOK bool) {
	if math.IsNaN(f) || f > 1 || f < 0 || (f == 0 && !zeroOK) {
		if zeroOK {
			v.fail(path, "must be in [0,1], got %v", f)
		} else {
			v.fail(path, "must be in (0,1], got %v", f)
		}
	}
}

func (v *validator) address(path, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.fail(path, "must be host:port such as 127.0.0.1:8080, got %q", addr)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.fail(path, "port must be a number in 0..65535, got %q", port)
	}
}

var (
	routeName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	hostName   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

var idempotent = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true,
	http.MethodTrace: true, http.MethodPut: true, http.MethodDelete: true,
}

func (v *validator) config(c *Config) {
	v.address("listen", c.Listen)
	v.address("admin.listen", c.Admin.Listen)
	v.admin(&c.Admin)
	if c.Listen != "" && c.Listen == c.Admin.Listen && !strings.HasSuffix(c.Listen, ":0") {
		v.fail("admin.listen", "must differ from listen, both are %q", c.Listen)
	}
	v.memory(c)
	v.nonNegative("shutdown_timeout", c.ShutdownTimeout)
	for i, tp := range c.TrustedProxies {
		if _, err := parseTrusted(tp); err != nil {
			v.fail(fmt.Sprintf("trusted_proxies[%d]", i), "must be an IP address or a CIDR prefix such as 10.0.0.0/8, got %q", tp)
		}
	}
	if c.Reload.Poll < 0 || (c.Reload.Poll > 0 && c.Reload.Poll < MinPollInterval) {
		v.fail("reload.poll", "must be 0 (off) or at least %v, got %v", MinPollInterval, c.Reload.Poll)
	}
	if len(c.Routes) == 0 {
		v.fail("routes", "at least one route is required")
	}
	names := map[string]int{}
	matches := map[string]int{}
	for i := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		r := &c.Routes[i]
		v.route(p, r)
		if r.Name != "" {
			if j, dup := names[r.Name]; dup {
				v.fail(p+".name", "%q is also the name of routes[%d]", r.Name, j)
			} else {
				names[r.Name] = i
			}
		}
		m := strings.ToLower(r.Host) + " " + r.Prefix
		if j, dup := matches[m]; dup && r.Prefix != "" {
			v.fail(p+".prefix", "routes[%d] already matches host %q and prefix %q", j, r.Host, r.Prefix)
		} else {
			matches[m] = i
		}
	}
}

func (v *validator) route(p string, r *RouteConfig) {
	switch {
	case r.Name == "":
		v.fail(p+".name", "required")
	case !routeName.MatchString(r.Name):
		v.fail(p+".name", "must be 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit, got %q", r.Name)
	}
	switch {
	case r.Prefix == "":
		v.fail(p+".prefix", "required (use \"/\" to match every path)")
	case !strings.HasPrefix(r.Prefix, "/"):
		v.fail(p+".prefix", "must start with \"/\", got %q", r.Prefix)
	}
	if r.Host != "" && !hostName.MatchString(r.Host) {
		v.fail(p+".host", "must be a host name without scheme or port, got %q", r.Host)
	}
	v.upstream(p+".upstream", r.Upstream)
	seen := map[int]bool{}
	for i, code := range r.FailureStatuses {
		path := fmt.Sprintf("%s.failure_statuses[%d]", p, i)
		if code < 400 || code > 599 {
			v.fail(path, "must be an HTTP status in 400..599, got %d", code)
		} else if seen[code] {
			v.fail(path, "%d is listed twice", code)
		}
		seen[code] = true
	}
	v.nonNegative(p+".timeout", r.Timeout)
	v.duration(p+".request_timeout", r.RequestTimeout)
	v.duration(p+".client_body_timeout", r.ClientBodyTimeout)
	if r.RequestTimeout > 0 && r.Timeout > r.RequestTimeout {
		v.fail(p+".timeout", "an attempt's timeout (%v) longer than request_timeout (%v) never applies", r.Timeout, r.RequestTimeout)
	}
	if r.Retry != nil {
		v.retry(p+".retry", r.Retry)
	}
	if r.Breaker != nil {
		v.breaker(p+".breaker", r.Breaker)
	}
	if b := r.Bulkhead; b != nil {
		if b.MaxConcurrent < 1 || b.MaxConcurrent > bulkhead.MaxCapacity {
			v.fail(p+".bulkhead.max_concurrent", "required, in 1..%d, got %d", bulkhead.MaxCapacity, b.MaxConcurrent)
		}
		v.nonNegative(p+".bulkhead.max_wait", b.MaxWait)
	}
	if r.RateLimit != nil {
		v.rateLimit(p+".rate_limit", r.RateLimit)
	}
	if r.Chaos != nil {
		v.chaos(p+".chaos", r.Chaos)
	}
}

func (v *validator) upstream(p, s string) {
	if s == "" {
		v.fail(p, "required (a URL such as http://127.0.0.1:9000)")
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.fail(p, "not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.fail(p, "must be an http or https URL, got %q", s)
	case u.Host == "":
		v.fail(p, "must name a host, got %q", s)
	case u.User != nil:
		v.fail(p, "must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		v.fail(p, "must not have a query or fragment, got %q", s)
	}
}

func (v *validator) retry(p string, r *RetryConfig) {
	if r.MaxAttempts < 0 || r.MaxAttempts > MaxRetryAttempts {
		v.fail(p+".max_attempts", "must be in 1..%d, got %d", MaxRetryAttempts, r.MaxAttempts)
	}
	switch r.Backoff {
	case "", "exponential":
		if r.Multiplier != 0 && (r.Multiplier < 1 || math.IsInf(r.Multiplier, 0) || math.IsNaN(r.Multiplier)) {
			v.fail(p+".multiplier", "must be at least 1 and finite, got %v", r.Multiplier)
		}
		v.nonNegative(p+".max_backoff", r.MaxBackoff)
		if r.MaxBackoff > 0 && r.MaxBackoff < r.InitialBackoff {
			v.fail(p+".max_backoff", "must be at least initial_backoff (%v), got %v", r.InitialBackoff, r.MaxBackoff)
		}
	case "constant":
		if v.set(p + ".multiplier") {
			v.fail(p+".multiplier", "applies to backoff exponential only")
		}
		if v.set(p + ".max_backoff") {
			v.fail(p+".max_backoff", "applies to backoff exponential only")
		}
	default:
		v.fail(p+".backoff", "must be \"exponential\" or \"constant\", got %q", r.Backoff)
	}
	v.nonNegative(p+".initial_backoff", r.InitialBackoff)
	switch r.Jitter {
	case "", "none", "full", "equal", "decorrelated":
	default:
		v.fail(p+".jitter", "must be none, full, equal or decorrelated, got %q", r.Jitter)
	}
	v.nonNegative(p+".max_elapsed", r.MaxElapsed)
	v.nonNegative(p+".max_retry_after", r.MaxRetryAfter)
	if r.MaxBodyBytes < 0 || r.MaxBodyBytes > MaxBodyBytesLimit {
		v.fail(p+".max_body_bytes", "must be in 0..%d (1 GiB), got %d", MaxBodyBytesLimit, r.MaxBodyBytes)
	}
	if r.Methods != nil && len(r.Methods) == 0 {
		v.fail(p+".methods", "must list at least one method (remove the retry block to retry nothing)")
	}
	seen := map[string]bool{}
	for i, m := range r.Methods {
		path := fmt.Sprintf("%s.methods[%d]", p, i)
		switch {
		case m != strings.ToUpper(m):
			v.fail(path, "methods are upper case: %q", strings.ToUpper(m))
		case !idempotent[m]:
			v.fail(path, "%q is not an idempotent method: only GET, HEAD, OPTIONS, TRACE, PUT and DELETE may be retried", m)
		case seen[m]:
			v.fail(path, "%s is listed twice", m)
		}
		seen[m] = true
	}
	if b := r.Budget; b != nil {
		if b.Ratio < 0 || math.IsNaN(b.Ratio) || math.IsInf(b.Ratio, 0) {
			v.fail(p+".budget.ratio", "must be positive and finite, got %v", b.Ratio)
		}
		if b.MinPerSecond < 0 || math.IsNaN(b.MinPerSecond) || math.IsInf(b.MinPerSecond, 0) {
			v.fail(p+".budget.min_per_second", "must be positive and finite, got %v", b.MinPerSecond)
		}
		if b.TTL != 0 && (b.TTL < time.Second || b.TTL > 5*time.Minute) {
			v.fail(p+".budget.ttl", "must be between 1s and 5m, got %v", b.TTL)
		}
	}
	if len(v.errs) == 0 {
		rc := *r
		applyRetryDefaults(&rc)
		if _, _, err := newRetry("check", &rc, nil); err != nil {
			v.fail(p, "%v", err)
		}
	}
}

// applyRetryDefaults fills a copy of a retry block as applyDefaults would,
// for checking it before defaults are applied.
func applyRetryDefaults(r *RetryConfig) {
	c := Config{Routes: []RouteConfig{{Retry: r}}}
	applyDefaults(&c)
}

func (v *validator) breaker(p string, b *BreakerConfig) {
	var kind breaker.WindowKind
	limit := breaker.MaxCountWindow
	switch b.Window {
	case "", "count":
	case "time":
		kind, limit = breaker.WindowTime, breaker.MaxTimeWindow
	case "consecutive":
		kind = breaker.WindowConsecutive
	default:
		v.fail(p+".window", "must be count, time or consecutive, got %q", b.Window)
	}
	if b.WindowSize < 0 || b.WindowSize > limit {
		v.fail(p+".window_size", "must be in 1..%d for a %s window, got %d", limit, kind, b.WindowSize)
	}
	switch {
	case b.MinimumCalls < 0:
		v.fail(p+".minimum_calls", "must not be negative, got %d", b.MinimumCalls)
	case kind == breaker.WindowConsecutive && b.MinimumCalls != 0:
		v.fail(p+".minimum_calls", "does not apply to a consecutive window")
	case kind == breaker.WindowCount && b.WindowSize > 0 && b.MinimumCalls > b.WindowSize:
		v.fail(p+".minimum_calls", "must be at most window_size (%d), got %d", b.WindowSize, b.MinimumCalls)
	case kind == breaker.WindowCount && b.WindowSize == 0 && b.MinimumCalls > breaker.DefaultCountWindow:
		v.fail(p+".minimum_calls", "must be at most window_size (default %d), got %d", breaker.DefaultCountWindow, b.MinimumCalls)
	case kind == breaker.WindowTime && b.MinimumCalls > MaxMinimumCalls:
		v.fail(p+".minimum_calls", "must be at most %d for a time window, got %d", MaxMinimumCalls, b.MinimumCalls)
	}
	if b.FailureRate != 0 || v.set(p+".failure_rate") {
		v.rate(p+".failure_rate", b.FailureRate, false)
	}
	if b.SlowCallRate != 0 || v.set(p+".slow_call_rate") {
		v.rate(p+".slow_call_rate", b.SlowCallRate, false)
		if b.SlowCallDuration == 0 {
			v.fail(p+".slow_call_rate", "has no effect without slow_call_duration")
		}
	}
	v.nonNegative(p+".slow_call_duration", b.SlowCallDuration)
	v.nonNegative(p+".wait", b.Wait)
	if b.WaitMultiplier != 0 && (b.WaitMultiplier < 1 || math.IsNaN(b.WaitMultiplier) || math.IsInf(b.WaitMultiplier, 0)) {
		v.fail(p+".wait_multiplier", "must be at least 1 and finite, got %v", b.WaitMultiplier)
	}
	wait := b.Wait
	if wait == 0 {
		wait = breaker.DefaultWaitDuration
	}
	if b.MaxWait < 0 || (b.MaxWait > 0 && b.MaxWait < wait) {
		v.fail(p+".max_wait", "must be at least wait (%v), got %v", wait, b.MaxWait)
	}
	if b.WaitJitter < 0 || b.WaitJitter >= 1 || math.IsNaN(b.WaitJitter) {
		v.fail(p+".wait_jitter", "must be in [0,1), got %v", b.WaitJitter)
	}
	if b.HalfOpenCalls < 0 {
		v.fail(p+".half_open_calls", "must not be negative, got %d", b.HalfOpenCalls)
	}
	v.nonNegative(p+".max_half_open", b.MaxHalfOpen)
	if len(v.errs) == 0 {
		if _, err := breaker.New(breakerConfig("check", b, nil)); err != nil {
			v.fail(p, "%v", err)
		}
	}
}

func (v *validator) rateLimit(p string, r *RateLimitConfig) {
	if r.Rate <= 0 || r.Rate > ratelimit.MaxRate || math.IsNaN(r.Rate) {
		v.fail(p+".rate", "required, requests per second in (0, %g], got %v", float64(ratelimit.MaxRate), r.Rate)
	}
	if r.Burst < 0 {
		v.fail(p+".burst", "must not be negative, got %d", r.Burst)
	}
	if r.ClientHeader != "" {
		if !r.PerClient {
			v.fail(p+".client_header", "applies only with per_client: true")
		} else if !headerName.MatchString(r.ClientHeader) {
			v.fail(p+".client_header", "must be a header name, got %q", r.ClientHeader)
		}
	}
	switch {
	case r.MaxClients != 0 && !r.PerClient:
		v.fail(p+".max_clients", "applies only with per_client: true")
	case r.MaxClients != 0 && r.Redis != nil:
		v.fail(p+".max_clients", "applies only without redis (Redis keeps the clients; a client's key expires once its bucket is full again)")
	case r.MaxClients < 0 || r.MaxClients > MaxClientsLimit:
		v.fail(p+".max_clients", "must be in 0..%d, got %d", MaxClientsLimit, r.MaxClients)
	}
	burst := r.Burst
	if burst == 0 && r.Rate > 0 && r.Rate <= ratelimit.MaxRate {
		burst = max(1, int(math.Ceil(r.Rate)))
	}
	if r.Redis != nil {
		v.redisLimit(p+".redis", r.Redis, burst)
	}
	if len(v.errs) == 0 {
		rc := *r
		rc.Burst = burst
		if _, _, err := newLimiter("check", &rc, nil, nil); err != nil {
			v.fail(p, "%v", err)
		} else if rc.Redis != nil {
			// bulwarkredis's own checks (its span of burst/rate); the
			// client is never used.
			c := redis.NewClient(&redis.Options{Addr: rc.Redis.Addr})
			_, err := bulwarkredis.NewLimiter(c, sharedLimiterConfig("check", &rc, nil, nil))
			_ = c.Close()
			if err != nil {
				v.fail(p+".redis", "%v", err)
			}
		}
	}
}

// redisLimit checks a rate_limit.redis block; burst is the limit's burst,
// its default applied.
func (v *validator) redisLimit(p string, r *RedisLimitConfig, burst int) {
	if r.Addr == "" {
		v.fail(p+".addr", "required (the Redis server's host:port, such as 127.0.0.1:6379)")
	} else if _, port, err := net.SplitHostPort(r.Addr); err != nil {
		v.fail(p+".addr", "must be host:port such as 127.0.0.1:6379, got %q", r.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.fail(p+".addr", "port must be a number in 1..65535, got %q", port)
	}
	if r.PasswordEnv != "" && !envName.MatchString(r.PasswordEnv) {
		v.fail(p+".password_env", "must be an environment variable name, got %q", r.PasswordEnv)
	}
	if r.DB < 0 {
		v.fail(p+".db", "must not be negative, got %d", r.DB)
	}
	if len(r.KeyPrefix) > maxKeyPrefix {
		v.fail(p+".key_prefix", "must be at most %d bytes, got %d", maxKeyPrefix, len(r.KeyPrefix))
	}
	v.nonNegative(p+".timeout", r.Timeout)
	if _, ok := redisOutages[r.Outage]; !ok {
		v.fail(p+".outage", "must be local, open or closed, got %q", r.Outage)
	}
	if r.Replicas < 0 {
		v.fail(p+".replicas", "must not be negative, got %d", r.Replicas)
	}
	switch {
	case r.Lease < 0:
		v.fail(p+".lease", "must not be negative, got %d", r.Lease)
	case r.Lease > burst && burst > 0:
		v.fail(p+".lease", "must be at most burst (%d): a lease is taken from the burst, got %d", burst, r.Lease)
	}
	v.nonNegative(p+".lease_ttl", r.LeaseTTL)
	if r.LeaseTTL != 0 && r.Lease <= 1 {
		v.fail(p+".lease_ttl", "applies only with lease greater than 1")
	}
}

// maxKeyPrefix bounds rate_limit.redis.key_prefix.
const maxKeyPrefix = 256

func (v *validator) chaos(p string, c *ChaosConfig) {
	v.rate(p+".error_rate", c.ErrorRate, true)
	v.rate(p+".latency_rate", c.LatencyRate, true)
	if c.ErrorStatus != 0 && (c.ErrorStatus < 400 || c.ErrorStatus > 599) {
		v.fail(p+".error_status", "must be an HTTP status in 400..599, got %d", c.ErrorStatus)
	}
	switch {
	case c.Latency < 0:
		v.fail(p+".latency", "must be positive, got %v", c.Latency)
	case c.LatencyRate > 0 && c.Latency == 0:
		v.fail(p+".latency", "required with latency_rate")
	}
}
