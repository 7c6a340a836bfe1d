package sidecar

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func echo(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Method, r.URL.Path)
	}
}

func TestRouting(t *testing.T) {
	a, b, c := upstream(t, echo("A")), upstream(t, echo("B")), upstream(t, echo("C"))
	f := newFixture(t, `
routes:
  - name: a
    prefix: /api/
    upstream: %[1]s
  - name: a-special
    prefix: /api/special/
    upstream: %[2]s/base
  - name: host-b
    host: B.example.com
    prefix: /api/
    upstream: %[2]s
  - name: stripped
    prefix: /strip/
    strip_prefix: true
    upstream: %[3]s/inner
`, a, b, c)
	tests := []struct {
		path, host string
		want       string
		code       int
	}{
		{"/api/users", "", "A GET /api/users", 200},
		{"/api/special/x", "", "B GET /base/api/special/x", 200},      // longest prefix wins, upstream path prepended
		{"/api/users", "b.example.com:8080", "B GET /api/users", 200}, // host routes first, port and case ignored
		{"/api/special/x", "b.example.com", "B GET /api/special/x", 200},
		{"/strip/one/two", "", "C GET /inner/one/two", 200},
		{"/strip/", "", "C GET /inner/", 200},
		{"/other", "", "no route for this path\n", 404},
	}
	for _, tt := range tests {
		var h []string
		if tt.host != "" {
			h = []string{"Host", tt.host}
		}
		got := f.get(t, tt.path, h...)
		if got.code != tt.code || got.body != tt.want {
			t.Errorf("GET %s (host %q) = %d %q, want %d %q", tt.path, tt.host, got.code, got.body, tt.code, tt.want)
		}
	}
	if got := f.get(t, "/nothing"); got.header.Get(HeaderReason) != "no_route" {
		t.Errorf("404 reason = %q", got.header.Get(HeaderReason))
	}
}

func TestBreakerOpensOnFailingUpstream(t *testing.T) {
	up := &counter{codes: []int{503}}
	f := newFixture(t, `
routes:
  - name: api
    prefix: /
    upstream: %s
    breaker:
      window: consecutive
      window_size: 3
      wait: 1m
`, upstream(t, up.ServeHTTP))
	for i := range 3 {
		got := f.get(t, "/x")
		if got.code != 503 || got.header.Get(HeaderReason) != "" || !strings.HasPrefix(got.body, "status 503") {
			t.Fatalf("request %d: %d %q reason %q, want the upstream's 503 passed on", i+1, got.code, got.body, got.header.Get(HeaderReason))
		}
	}
	got := f.get(t, "/x")
	if got.code != 503 || got.header.Get(HeaderReason) != "breaker_open" {
		t.Fatalf("after 3 failures: %d reason %q, want 503 breaker_open", got.code, got.header.Get(HeaderReason))
	}
	ra, err := strconv.Atoi(got.header.Get("Retry-After"))
	if err != nil || ra < 50 || ra > 60 {
		t.Errorf("Retry-After = %q, want about 60", got.header.Get("Retry-After"))
	}
	if up.calls() != 3 {
		t.Errorf("upstream called %d times, want 3", up.calls())
	}
	c := f.s.snapshot().Routes[0].Counts
	if c.Requests != 4 || c.UpstreamError != 3 || c.BreakerOpen != 1 {
		t.Errorf("counts = %+v", c)
	}
}

func TestRetry(t *testing.T) {
	yaml := `
routes:
  - name: api
    prefix: /
    upstream: %s
    retry:
      max_attempts: 3
      backoff: constant
      initial_backoff: 1ms
      methods: [GET, PUT]
      max_body_bytes: 16
`
	t.Run("GET retried", func(t *testing.T) {
		up := &counter{codes: []int{502, 503, 200}}
		f := newFixture(t, yaml, upstream(t, up.ServeHTTP))
		got := f.get(t, "/x")
		if got.code != 200 || got.header.Get(HeaderAttempts) != "3" {
			t.Errorf("got %d attempts %q, want 200 after 3", got.code, got.header.Get(HeaderAttempts))
		}
		if c := f.s.snapshot().Routes[0].Counts; c.Retried != 1 || c.OK != 1 {
			t.Errorf("counts = %+v", c)
		}
	})
	t.Run("GET gives up and passes on the last answer", func(t *testing.T) {
		up := &counter{codes: []int{500, 502, 504}}
		f := newFixture(t, yaml, upstream(t, up.ServeHTTP))
		got := f.get(t, "/x")
		if got.code != 504 || got.body != "status 504 for GET /x" || got.header.Get(HeaderAttempts) != "3" {
			t.Errorf("got %d %q attempts %q", got.code, got.body, got.header.Get(HeaderAttempts))
		}
	})
	t.Run("POST not retried", func(t *testing.T) {
		up := &counter{codes: []int{502, 200}}
		f := newFixture(t, yaml, upstream(t, up.ServeHTTP))
		got := do(t, f.client, http.MethodPost, f.proxy.URL+"/x", "payload")
		if got.code != 502 || up.calls() != 1 || got.header.Get(HeaderAttempts) != "" {
			t.Errorf("got %d after %d calls, want 502 after 1", got.code, up.calls())
		}
	})
	t.Run("PUT body replayed", func(t *testing.T) {
		up := &counter{codes: []int{503, 200}}
		f := newFixture(t, yaml, upstream(t, up.ServeHTTP))
		got := do(t, f.client, http.MethodPut, f.proxy.URL+"/x", "the body")
		if got.code != 200 || len(up.bodies) != 2 || up.bodies[0] != "the body" || up.bodies[1] != "the body" {
			t.Errorf("got %d, bodies %q", got.code, up.bodies)
		}
	})
	t.Run("PUT body too large to replay", func(t *testing.T) {
		up := &counter{codes: []int{503, 200}}
		f := newFixture(t, yaml, upstream(t, up.ServeHTTP))
		body := strings.Repeat("x", 40)
		got := do(t, f.client, http.MethodPut, f.proxy.URL+"/x", body)
		if got.code != 503 || len(up.bodies) != 1 || up.bodies[0] != body {
			t.Errorf("got %d, bodies %q: want one attempt with the whole body", got.code, up.bodies)
		}
	})
	t.Run("4xx not a failure", func(t *testing.T) {
		up := &counter{codes: []int{404}}
		f := newFixture(t, yaml, upstream(t, up.ServeHTTP))
		if got := f.get(t, "/x"); got.code != 404 || up.calls() != 1 {
			t.Errorf("got %d after %d calls", got.code, up.calls())
		}
	})
}

func TestRateLimit(t *testing.T) {
	ok := upstream(t, echo("A"))
	t.Run("global", func(t *testing.T) {
		f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', rate_limit: {rate: 0.001, burst: 2}}\n", ok)
		for i := range 2 {
			got := f.get(t, "/")
			if got.code != 200 || got.header.Get("RateLimit-Limit") != "2" || got.header.Get("RateLimit-Remaining") != strconv.Itoa(1-i) {
				t.Fatalf("request %d: %d %v", i+1, got.code, got.header)
			}
		}
		got := f.get(t, "/")
		if got.code != 429 || got.header.Get(HeaderReason) != "rate_limited" || got.header.Get("RateLimit-Remaining") != "0" {
			t.Fatalf("third request: %d %v", got.code, got.header)
		}
		if ra, _ := strconv.Atoi(got.header.Get("Retry-After")); ra < 900 || ra > 1000 {
			t.Errorf("Retry-After = %q, want about 1000", got.header.Get("Retry-After"))
		}
		if reset, _ := strconv.Atoi(got.header.Get("RateLimit-Reset")); reset < 1900 {
			t.Errorf("RateLimit-Reset = %q, want about 2000", got.header.Get("RateLimit-Reset"))
		}
		rl := f.s.snapshot().Routes[0].RateLimit
		if rl.Allowed != 2 || rl.Rejected != 1 || rl.PerClient {
			t.Errorf("snapshot = %+v", rl)
		}
	})
	t.Run("per client", func(t *testing.T) {
		f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', rate_limit: {rate: 0.001, burst: 1, per_client: true, client_header: X-Client}}\n", ok)
		if got := f.get(t, "/", "X-Client", "a"); got.code != 200 {
			t.Fatalf("a: %d", got.code)
		}
		if got := f.get(t, "/", "X-Client", "a"); got.code != 429 {
			t.Fatalf("a again: %d, want 429", got.code)
		}
		if got := f.get(t, "/", "X-Client", "b"); got.code != 200 {
			t.Fatalf("b: %d, want its own limit", got.code)
		}
		if got := f.get(t, "/"); got.code != 200 { // keyed by IP
			t.Fatalf("no header: %d", got.code)
		}
		if got := f.get(t, "/"); got.code != 429 {
			t.Fatalf("no header again: %d, want 429", got.code)
		}
		if rl := f.s.snapshot().Routes[0].RateLimit; rl.Clients != 3 || !rl.PerClient {
			t.Errorf("snapshot = %+v", rl)
		}
	})
}

func TestBulkheadSheds(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		w.Write([]byte("ok"))
	})
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', bulkhead: {max_concurrent: 1}}\n", up)
	var wg sync.WaitGroup
	wg.Go(func() {
		if got := f.get(t, "/slow"); got.code != 200 {
			t.Errorf("slow: %d", got.code)
		}
	})
	<-entered
	if bh := f.s.snapshot().Routes[0].Bulkhead; bh.InUse != 1 || bh.Capacity != 1 {
		t.Errorf("bulkhead snapshot = %+v", bh)
	}
	got := f.get(t, "/fast")
	if got.code != 503 || got.header.Get(HeaderReason) != "shed" || got.header.Get("Retry-After") != "1" {
		t.Errorf("second request: %d %v, want 503 shed", got.code, got.header)
	}
	close(release)
	wg.Wait()
	if got := f.get(t, "/fast"); got.code != 200 {
		t.Errorf("after release: %d", got.code)
	}
}

func TestChaosInjected(t *testing.T) {
	up := &counter{codes: []int{200}}
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', chaos: {error_rate: 1, error_status: 599}}\n", upstream(t, up.ServeHTTP))
	got := f.get(t, "/")
	if got.code != 599 || got.header.Get(HeaderReason) != "injected" || up.calls() != 0 {
		t.Errorf("got %d %v after %d upstream calls", got.code, got.header, up.calls())
	}
	if ch := f.s.snapshot().Routes[0].Chaos; ch.Errors != 1 || !ch.Enabled {
		t.Errorf("chaos snapshot = %+v", ch)
	}
}

func TestBadGateway(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', breaker: {window: consecutive, window_size: 1, wait: 1m}}\n", dead)
	got := f.get(t, "/")
	if got.code != 502 || got.header.Get(HeaderReason) != "bad_gateway" {
		t.Errorf("got %d %v", got.code, got.header)
	}
	if got := f.get(t, "/"); got.header.Get(HeaderReason) != "breaker_open" {
		t.Errorf("a transport error must count for the breaker; then got %d %v", got.code, got.header)
	}
	if !strings.Contains(f.logs.String(), "upstream unreachable") {
		t.Errorf("no log line for the bad gateway: %s", f.logs.String())
	}
}

func TestStreamingBodyOutlivesTimeout(t *testing.T) {
	// The timeout bounds the wait for the headers; a body read after the
	// policies returned must not be cut off.
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for range 5 {
			w.Write([]byte(strings.Repeat("x", 1000)))
			w.(http.Flusher).Flush()
		}
	})
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 5s, retry: {}, breaker: {}}\n", up)
	for range 3 {
		if got := f.get(t, "/"); got.code != 200 || len(got.body) != 5000 {
			t.Fatalf("got %d with %d bytes", got.code, len(got.body))
		}
	}
}

func TestNoFailureStatuses(t *testing.T) {
	up := &counter{codes: []int{503}}
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', failure_statuses: [], retry: {}, breaker: {window: consecutive, window_size: 1}}\n", upstream(t, up.ServeHTTP))
	for range 3 {
		if got := f.get(t, "/"); got.code != 503 || got.header.Get(HeaderReason) != "" {
			t.Fatalf("got %d %v", got.code, got.header)
		}
	}
	rs := f.s.snapshot().Routes[0]
	if up.calls() != 3 || rs.Breaker.State != "closed" || rs.Counts.OK != 3 {
		t.Errorf("with no failure statuses a 503 is neither retried nor counted: %d calls, breaker %s, counts %+v", up.calls(), rs.Breaker.State, rs.Counts)
	}
}
