package sidecar

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/bulkhead"
)

// route0 is a minimal valid route, to which the cases add lines.
const route0 = `
routes:
  - name: api
    prefix: /api/
    upstream: http://127.0.0.1:9000
`

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every error line, without the line suffix
	}{
		{"empty", ``, []string{"config is empty"}},
		{"comment only", "# nothing\n", []string{"config is empty"}},
		{"syntax", "routes: [", nil},
		{"two documents", route0 + "---\nlisten: x\n", []string{"more than one YAML document; put everything in one"}},
		{"not a mapping", "- a\n", []string{"must be a mapping of keys to values, got a list"}},
		{"no routes", "listen: 127.0.0.1:8080\n", []string{"routes: at least one route is required"}},
		{"unknown top key", route0 + "lisen: x\n", []string{"lisen: unknown key (known keys: admin, fast_path, listen, reload, routes, shutdown_timeout, trusted_proxies)"}},
		{"unknown nested key", route0 + "    breaker:\n      failure_rat: 0.5\n", []string{
			"routes[0].breaker.failure_rat: unknown key (known keys: failure_rate, half_open_calls, max_half_open, max_wait, minimum_calls, slow_call_duration, slow_call_rate, wait, wait_jitter, wait_multiplier, window, window_size)"}},
		{"duplicate key", route0 + "    timeout: 1s\n    timeout: 2s\n", []string{"routes[0].timeout: key given twice"}},
		{"merge key", "routes:\n  - &r0 {name: a, prefix: /a/, upstream: 'http://h'}\n  - <<: *r0\n    name: b\n",
			[]string{"routes[1].<<: merge keys (<<) are not supported: repeat the keys, or use an alias for a whole block"}},
		{"failure rate above 1", route0 + "    breaker:\n      failure_rate: 1.5\n", []string{"routes[0].breaker.failure_rate: must be in (0,1], got 1.5"}},
		{"failure rate zero", route0 + "    breaker:\n      failure_rate: 0\n", []string{"routes[0].breaker.failure_rate: must be in (0,1], got 0"}},
		{"second route", route0 + "  - name: b\n    prefix: /b/\n    upstream: http://127.0.0.1:9001\n    breaker:\n      failure_rate: 1.5\n",
			[]string{"routes[1].breaker.failure_rate: must be in (0,1], got 1.5"}},
		{"duration as number", route0 + "    timeout: 5\n", []string{`routes[0].timeout: must be a duration such as "250ms" or "2s", got "5"`}},
		{"negative duration", route0 + "    timeout: -1s\n", []string{"routes[0].timeout: must not be negative, got -1s"}},
		{"string for int", route0 + "    bulkhead:\n      max_concurrent: ten\n", []string{`routes[0].bulkhead.max_concurrent: must be an integer, got "ten"`}},
		{"bool as yes", route0 + "    strip_prefix: yes\n", []string{`routes[0].strip_prefix: must be true or false, got "yes"`}},
		{"null value", route0 + "    breaker:\n", []string{"routes[0].breaker: no value given"}},
		{"list for string", route0 + "    host: [a]\n", []string{"routes[0].host: must be a string, got a list"}},
		{"missing fields", "routes:\n  - strip_prefix: true\n", []string{
			"routes[0].name: required",
			`routes[0].prefix: required (use "/" to match every path)`,
			"routes[0].upstream: required (a URL such as http://127.0.0.1:9000)"}},
		{"bad name", strings.Replace(route0, "name: api", "name: 'a b'", 1), []string{
			`routes[0].name: must be 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit, got "a b"`}},
		{"duplicate name", route0 + "  - name: api\n    prefix: /b/\n    upstream: http://127.0.0.1:9001\n", []string{`routes[1].name: "api" is also the name of routes[0]`}},
		{"duplicate match", route0 + "  - name: b\n    prefix: /api/\n    upstream: http://127.0.0.1:9001\n", []string{`routes[1].prefix: routes[0] already matches host "" and prefix "/api/"`}},
		{"prefix without slash", strings.Replace(route0, "prefix: /api/", "prefix: api", 1), []string{`routes[0].prefix: must start with "/", got "api"`}},
		{"upstream scheme", strings.Replace(route0, "http://127.0.0.1:9000", "ftp://x", 1), []string{`routes[0].upstream: must be an http or https URL, got "ftp://x"`}},
		{"upstream no host", strings.Replace(route0, "http://127.0.0.1:9000", "http:///x", 1), []string{`routes[0].upstream: must name a host, got "http:///x"`}},
		{"host wildcard", route0 + "    host: '*.example.com'\n", []string{`routes[0].host: must be a host name without scheme or port, got "*.example.com"`}},
		{"host with port", route0 + "    host: example.com:80\n", []string{`routes[0].host: must be a host name without scheme or port, got "example.com:80"`}},
		{"listen", "listen: nowhere\n" + route0, []string{`listen: must be host:port such as 127.0.0.1:8080, got "nowhere"`}},
		{"same listen", "listen: 127.0.0.1:1\nadmin:\n  listen: 127.0.0.1:1\n" + route0, []string{`admin.listen: must differ from listen, both are "127.0.0.1:1"`}},
		{"poll too fast", "reload:\n  poll: 1ms\n" + route0, []string{"reload.poll: must be 0 (off) or at least 100ms, got 1ms"}},
		{"failure status", route0 + "    failure_statuses: [503, 200, 503]\n", []string{
			"routes[0].failure_statuses[1]: must be an HTTP status in 400..599, got 200",
			"routes[0].failure_statuses[2]: 503 is listed twice"}},
		{"retry POST", route0 + "    retry:\n      methods: [GET, POST]\n", []string{
			`routes[0].retry.methods[1]: "POST" is not an idempotent method: only GET, HEAD, OPTIONS, TRACE, PUT and DELETE may be retried`}},
		{"retry lower case", route0 + "    retry:\n      methods: [get]\n", []string{`routes[0].retry.methods[0]: methods are upper case: "GET"`}},
		{"retry attempts", route0 + "    retry:\n      max_attempts: 11\n", []string{"routes[0].retry.max_attempts: must be in 1..10, got 11"}},
		{"retry backoff", route0 + "    retry:\n      backoff: linear\n", []string{`routes[0].retry.backoff: must be "exponential" or "constant", got "linear"`}},
		{"constant multiplier", route0 + "    retry:\n      backoff: constant\n      multiplier: 3\n", []string{"routes[0].retry.multiplier: applies to backoff exponential only"}},
		{"max below initial", route0 + "    retry:\n      initial_backoff: 2s\n      max_backoff: 1s\n", []string{"routes[0].retry.max_backoff: must be at least initial_backoff (2s), got 1s"}},
		{"jitter", route0 + "    retry:\n      jitter: lots\n", []string{`routes[0].retry.jitter: must be none, full, equal or decorrelated, got "lots"`}},
		{"budget ttl", route0 + "    retry:\n      budget:\n        ttl: 10m\n", []string{"routes[0].retry.budget.ttl: must be between 1s and 5m, got 10m0s"}},
		{"window kind", route0 + "    breaker:\n      window: sliding\n", []string{`routes[0].breaker.window: must be count, time or consecutive, got "sliding"`}},
		{"minimum calls", route0 + "    breaker:\n      window_size: 5\n      minimum_calls: 6\n", []string{"routes[0].breaker.minimum_calls: must be at most window_size (5), got 6"}},
		{"consecutive minimum", route0 + "    breaker:\n      window: consecutive\n      minimum_calls: 3\n", []string{"routes[0].breaker.minimum_calls: does not apply to a consecutive window"}},
		{"time minimum", route0 + "    breaker: {window: time, window_size: 86400, minimum_calls: 9223372036854775807}\n", []string{"routes[0].breaker.minimum_calls: must be at most 10000000 for a time window, got 9223372036854775807"}},
		{"time minimum just over", route0 + "    breaker: {window: time, minimum_calls: 10000001}\n", []string{"routes[0].breaker.minimum_calls: must be at most 10000000 for a time window, got 10000001"}},
		{"slow rate alone", route0 + "    breaker:\n      slow_call_rate: 0.5\n", []string{"routes[0].breaker.slow_call_rate: has no effect without slow_call_duration"}},
		{"max wait", route0 + "    breaker:\n      wait: 10s\n      max_wait: 5s\n", []string{"routes[0].breaker.max_wait: must be at least wait (10s), got 5s"}},
		{"jitter one", route0 + "    breaker:\n      wait_jitter: 1\n", []string{"routes[0].breaker.wait_jitter: must be in [0,1), got 1"}},
		{"bulkhead required", route0 + "    bulkhead: {}\n", []string{fmt.Sprintf("routes[0].bulkhead.max_concurrent: required, in 1..%d, got 0", bulkhead.MaxCapacity)}},
		{"rate required", route0 + "    rate_limit: {burst: 3}\n", []string{"routes[0].rate_limit.rate: required, requests per second in (0, 1e+09], got 0"}},
		{"client header global", route0 + "    rate_limit: {rate: 1, client_header: X-Id}\n", []string{"routes[0].rate_limit.client_header: applies only with per_client: true"}},
		{"redis addr required", route0 + "    rate_limit: {rate: 1, redis: {outage: open}}\n", []string{
			"routes[0].rate_limit.redis.addr: required (the Redis server's host:port, such as 127.0.0.1:6379)"}},
		{"redis bad addr", route0 + "    rate_limit: {rate: 1, redis: {addr: redis}}\n", []string{
			`routes[0].rate_limit.redis.addr: must be host:port such as 127.0.0.1:6379, got "redis"`}},
		{"redis outage", route0 + "    rate_limit: {rate: 1, redis: {addr: 'r:6379', outage: fail}}\n", []string{
			`routes[0].rate_limit.redis.outage: must be local, open or closed, got "fail"`}},
		{"redis timeout cap", route0 + "    rate_limit: {rate: 1, redis: {addr: 'r:6379', timeout: 25h}}\n", []string{
			"routes[0].rate_limit.redis.timeout: must be at most 24h0m0s, got 25h0m0s"}},
		{"redis negatives", route0 + "    rate_limit: {rate: 1, redis: {addr: 'r:6379', replicas: -1, db: -2, timeout: -1s}}\n", []string{
			"routes[0].rate_limit.redis.db: must not be negative, got -2",
			"routes[0].rate_limit.redis.timeout: must not be negative, got -1s",
			"routes[0].rate_limit.redis.replicas: must not be negative, got -1"}},
		{"redis lease over burst", route0 + "    rate_limit: {rate: 2.5, redis: {addr: 'r:6379', lease: 4}}\n", []string{
			"routes[0].rate_limit.redis.lease: must be at most burst (3): a lease is taken from the burst, got 4"}},
		{"redis lease ttl alone", route0 + "    rate_limit: {rate: 1, redis: {addr: 'r:6379', lease_ttl: 2s}}\n", []string{
			"routes[0].rate_limit.redis.lease_ttl: applies only with lease greater than 1"}},
		{"redis password env", route0 + "    rate_limit: {rate: 1, redis: {addr: 'r:6379', password_env: 'A-B'}}\n", []string{
			`routes[0].rate_limit.redis.password_env: must be an environment variable name, got "A-B"`}},
		{"redis max clients", route0 + "    rate_limit: {rate: 1, per_client: true, max_clients: 5, redis: {addr: 'r:6379'}}\n", []string{
			"routes[0].rate_limit.max_clients: applies only without redis (Redis keeps the clients; a client's key expires once its bucket is full again)"}},
		{"redis unknown key", route0 + "    rate_limit: {rate: 1, redis: {address: 'r:6379'}}\n", []string{
			"routes[0].rate_limit.redis.address: unknown key (known keys: addr, db, key_prefix, lease, lease_ttl, outage, password_env, replicas, timeout, username)",
			"routes[0].rate_limit.redis.addr: required (the Redis server's host:port, such as 127.0.0.1:6379)"}},
		{"chaos rate", route0 + "    chaos: {error_rate: 2}\n", []string{"routes[0].chaos.error_rate: must be in [0,1], got 2"}},
		{"chaos latency", route0 + "    chaos: {latency_rate: 0.5}\n", []string{"routes[0].chaos.latency: required with latency_rate"}},
		{"nan", route0 + "    breaker: {failure_rate: .nan}\n", []string{"routes[0].breaker.failure_rate: must be in (0,1], got NaN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseConfig succeeded: %+v", c)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("errors.Is(err, ErrConfig) = false for %v", err)
			}
			var errs ConfigErrors
			if !errors.As(err, &errs) {
				t.Fatalf("error is a %T, not ConfigErrors", err)
			}
			if tt.want == nil { // a syntax error: just one, without a path
				if len(errs) != 1 || errs[0].Path != "" || errs[0].Msg == "" {
					t.Errorf("got %q, want one syntax error", err)
				}
				return
			}
			var got []string
			for _, e := range errs {
				got = append(got, (&ConfigError{Path: e.Path, Msg: e.Msg}).Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseConfigErrorLine(t *testing.T) {
	_, err := ParseConfig([]byte(route0 + "    breaker:\n      failure_rate: 1.5\n"))
	if got, want := err.Error(), "routes[0].breaker.failure_rate: must be in (0,1], got 1.5 (line 7)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(route0 + "    retry: {}\n    rate_limit: {rate: 2.5}\n    chaos: {error_rate: 0.1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.Admin.Listen != DefaultAdminListen || c.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("top-level defaults: %+v", c)
	}
	r := c.Routes[0]
	if !reflect.DeepEqual(r.FailureStatuses, DefaultFailureStatuses()) {
		t.Errorf("failure_statuses = %v", r.FailureStatuses)
	}
	want := RetryConfig{
		MaxAttempts: 3, Backoff: "exponential", InitialBackoff: 25 * time.Millisecond, MaxBackoff: time.Second,
		Multiplier: 2, Jitter: "full", MaxRetryAfter: 2 * time.Second, Methods: []string{"GET", "HEAD", "OPTIONS"},
		MaxBodyBytes: 1 << 20,
	}
	if !reflect.DeepEqual(*r.Retry, want) {
		t.Errorf("retry defaults:\n got %+v\nwant %+v", *r.Retry, want)
	}
	if r.RateLimit.Burst != 3 {
		t.Errorf("burst default = %d, want 3 (rate rounded up)", r.RateLimit.Burst)
	}
	if r.Chaos.ErrorStatus != 503 {
		t.Errorf("chaos error_status default = %d", r.Chaos.ErrorStatus)
	}
	if r.Breaker != nil || r.Bulkhead != nil {
		t.Errorf("blocks not given must stay nil")
	}
}

func TestParseConfigAliases(t *testing.T) {
	yaml := `
routes:
  - name: a
    prefix: /a/
    upstream: http://127.0.0.1:9000
    breaker: &br {failure_rate: 0.25, wait: 5s}
  - name: b
    prefix: /b/
    upstream: http://127.0.0.1:9001
    breaker: *br
`
	c, err := ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if *c.Routes[1].Breaker != *c.Routes[0].Breaker || c.Routes[1].Breaker.FailureRate != 0.25 {
		t.Errorf("alias not followed: %+v", c.Routes[1].Breaker)
	}
	if c.Routes[0].Breaker == c.Routes[1].Breaker {
		t.Errorf("aliased blocks share one pointer")
	}
}

func TestParseConfigAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := ParseConfig([]byte(b.String()))
	if err == nil {
		t.Fatal("an alias bomb parsed")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestParseConfigTooLarge(t *testing.T) {
	_, err := ParseConfig(make([]byte, MaxConfigBytes+1))
	if err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Errorf("got %v", err)
	}
}

func TestParseConfigSample(t *testing.T) {
	c, _, err := LoadConfig(filepath.Join("..", "examples", "sidecar", "bulwark.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) == 0 {
		t.Fatal("no routes")
	}
	for _, r := range c.Routes {
		if _, err := buildPolicies(&r, nil, nil, http.DefaultTransport, &routeStats{}, nil, nil); err != nil {
			t.Errorf("route %s: %v", r.Name, err)
		}
	}
}

func TestLoadConfigMissing(t *testing.T) {
	_, _, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}
