package sidecar

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/upstreamtest"
)

// newFixtureBase is newFixture over the given base transport.
func newFixtureBase(t *testing.T, yaml string, base *http.Transport, upstreams ...*httptest.Server) *fixture {
	t.Helper()
	args := make([]any, len(upstreams))
	for i, u := range upstreams {
		args[i] = u.URL
	}
	cfg, err := ParseConfig(fmt.Appendf(nil, yaml, args...))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s, err := New(cfg, Options{Transport: base, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, proxy: httptest.NewServer(s.Handler()), admin: httptest.NewServer(s.AdminHandler()), logs: logs}
	ct := &http.Transport{MaxIdleConnsPerHost: 100}
	f.client = &http.Client{Transport: ct}
	t.Cleanup(func() {
		f.proxy.Close()
		f.admin.Close()
		ct.CloseIdleConnections()
		base.CloseIdleConnections()
	})
	return f
}

// Defect 1: a reset storm on 64 warm keep-alive connections sends at most
// max_attempts requests per client request, and the breaker counts each.
func TestResetStormSendsAtMostMaxAttempts(t *testing.T) {
	for _, tc := range []struct {
		name, method, key string
	}{{"GET", http.MethodGet, ""}, {"POST with Idempotency-Key", http.MethodPost, "k-1"}} {
		t.Run(tc.name, func(t *testing.T) {
			storm := upstreamtest.NewStorm(t)
			base := &http.Transport{MaxIdleConnsPerHost: 64}
			f := newFixtureBase(t, `routes:
  - name: api
    prefix: /
    upstream: '%s'
    retry: {max_attempts: 3, backoff: constant, initial_backoff: 1ms, methods: [GET, PUT]}
    breaker: {window_size: 1000, minimum_calls: 1000}
`, base, storm.Server)
			storm.Warm(t, f.client, f.proxy.URL+"/", 64)
			storm.Reset()
			req := must(http.NewRequest(tc.method, f.proxy.URL+"/", nil))(t)
			if tc.key != "" {
				req.Header.Set("Idempotency-Key", tc.key)
			}
			resp := must(f.client.Do(req))(t)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("status %d, want 502", resp.StatusCode)
			}
			got := storm.Resets()
			if got < 1 || got > 3 {
				t.Errorf("the upstream read %d requests for one client request, want 1..3", got)
			}
			br := must(f.s.Breaker("api"))(t)
			if calls := int64(br.Snapshot().Calls - 64); calls != got {
				t.Errorf("the breaker counted %d calls, the upstream read %d", calls, got)
			}
		})
	}
}

// must returns v, failing the test if err is not nil.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// rawRequest writes raw to the proxy on a fresh connection and returns the
// response's status and X-Bulwark-Reason.
func rawRequest(t *testing.T, addr, raw string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(HeaderReason)
}

// Defect 2: a client's malformed body is the client's failure: 400, not
// counted against the upstream, not logged as the upstream's.
func TestMalformedChunkedPostLeavesBreakerClosed(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	for _, retry := range []string{"", "retry: {methods: [PUT]}, "} {
		t.Run(fmt.Sprintf("retry=%v", retry != ""), func(t *testing.T) {
			f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', "+retry+"breaker: {window: consecutive, window_size: 5}}\n", up)
			addr := strings.TrimPrefix(f.proxy.URL, "http://")
			for i := range 100 {
				method := "POST"
				if i%2 == 1 && retry != "" {
					method = "PUT" // buffered for retries
				}
				code, reason := rawRequest(t, addr, method+" /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nzz\r\n\r\n")
				if code != http.StatusBadRequest || reason != "bad_request" {
					t.Fatalf("request %d: %d %q, want 400 bad_request", i, code, reason)
				}
			}
			br := must(f.s.Breaker("api"))(t)
			if st := br.State(); st != breaker.StateClosed {
				t.Errorf("breaker %v after 100 malformed bodies, want closed", st)
			}
			if strings.Contains(f.logs.String(), "upstream unreachable") {
				t.Errorf("a client's body was logged as the upstream's failure:\n%s", f.logs.String())
			}
			if got := f.get(t, "/"); got.code != 200 {
				t.Errorf("a good request after them: %d", got.code)
			}
		})
	}
}

// Defect 3: request_timeout bounds the whole request (attempts, backoff,
// Retry-After waits), and a timed-out last attempt is a 504 timeout even
// when the breaker opened on it.
func TestRequestTimeout(t *testing.T) {
	tests := []struct {
		name       string
		route      string
		answer     func(w http.ResponseWriter, r *http.Request)
		wantCode   int
		wantReason string
		wantMax    time.Duration
	}{
		{
			"attempts that hang",
			"timeout: 200ms, request_timeout: 500ms, retry: {max_attempts: 5, backoff: constant, initial_backoff: 10ms, jitter: none}",
			func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			http.StatusGatewayTimeout, "timeout", 500 * time.Millisecond,
		},
		{
			"a Retry-After longer than what is left",
			"request_timeout: 500ms, retry: {max_attempts: 5, max_retry_after: 10s}",
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "4")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			http.StatusServiceUnavailable, "", 0,
		},
		{
			"the breaker opens on the last timed-out attempt",
			"timeout: 100ms, retry: {max_attempts: 3, backoff: constant, initial_backoff: 10ms, jitter: none}, breaker: {window: consecutive, window_size: 1}",
			func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			http.StatusGatewayTimeout, "timeout", 110 * time.Millisecond, // the timed-out attempt and the backoff before the refused one
		},
		{
			"no attempt timeout, only the request's",
			"request_timeout: 300ms",
			func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			http.StatusGatewayTimeout, "timeout", 300 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBubble(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', "+tc.route+"}\n", http.HandlerFunc(tc.answer))
				start := time.Now()
				got := b.get(t, "/")
				if d := time.Since(start); d > tc.wantMax {
					t.Errorf("answered after %v, want at most %v", d, tc.wantMax)
				}
				if got.code != tc.wantCode || got.header.Get(HeaderReason) != tc.wantReason {
					t.Errorf("got %d %q, want %d %q", got.code, got.header.Get(HeaderReason), tc.wantCode, tc.wantReason)
				}
			})
		})
	}
}

// Defect 4: a client trickling its body is cut off by client_body_timeout
// (408) and does not hold its bulkhead slot: other clients get through.
func TestTricklingUploadDoesNotStarveBulkhead(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', client_body_timeout: 200ms, bulkhead: {max_concurrent: 2}}\n", up)
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	started := make(chan struct{}, 2)
	for range 2 {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
			started <- struct{}{}
			answer := make(chan int, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Logf("reading the answer to a trickling upload: %v", err)
					answer <- 0
					return
				}
				resp.Body.Close()
				answer <- resp.StatusCode
			}()
			for i := 0; i < 100; i++ {
				io.WriteString(c, "x") // fails once the proxy has closed: the answer is in
				select {
				case code := <-answer:
					codes <- code
					return
				case <-time.After(time.Second): // 1 byte a second, slower than the body timeout
				case <-ctx.Done():
					c.Close()
					codes <- <-answer
					return
				}
			}
			codes <- <-answer
		})
	}
	<-started
	<-started
	// Both uploads hold their slot before the other client comes.
	for i := 0; i < 200; i++ {
		if b := f.s.snapshot().Routes[0].Bulkhead; b != nil && b.InUse == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Within a few body timeouts, the slots are free again.
	var got response
	for i := 0; i < 50; i++ {
		got = do(t, f.client, http.MethodPut, f.proxy.URL+"/up", "payload")
		if got.code == 200 {
			break
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if got.code != 200 {
		t.Errorf("another client got %d %q, want 200: the trickling uploads hold the bulkhead", got.code, got.header.Get(HeaderReason))
	}
	wg.Wait()
	for range 2 {
		if c := <-codes; c != http.StatusRequestTimeout {
			t.Errorf("a trickling upload got %d, want 408", c)
		}
	}
}

// Defect 5: the upstream's whole body reaches the client, whatever its
// status and whether or not the route retries.
func TestLargeErrorBodyArrivesWhole(t *testing.T) {
	body := strings.Repeat("e", 200_000)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, body)
	})
	for _, retry := range []string{"", ", retry: {max_attempts: 2, backoff: constant, initial_backoff: 1ms}"} {
		f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s'"+retry+"}\n", up)
		got := f.get(t, "/")
		if got.code != 500 || len(got.body) != len(body) {
			t.Errorf("retry %q: got %d with %d bytes, want 500 with %d", retry, got.code, len(got.body), len(body))
		}
	}
}

// Defect 6: dot segments and empty segments do not bypass a route.
func TestPathsAreCleanedBeforeRouting(t *testing.T) {
	var paths sync.Map
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		paths.Store(r.URL.Path, true)
		io.WriteString(w, "ok")
	})
	f := newFixture(t, `routes:
  - {name: expensive, prefix: /api/expensive, upstream: '%[1]s', rate_limit: {rate: 0.001, burst: 1}}
  - {name: api, prefix: /api, upstream: '%[1]s'}
`, up)
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	if code, _ := rawRequest(t, addr, "GET /api/expensive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	for _, p := range []string{"/api/x/../expensive", "/api//expensive", "/api/./expensive", "/api/x/%2e%2e/expensive", "/api/expensive/", "//api/expensive"} {
		code, reason := rawRequest(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if code != http.StatusTooManyRequests && code != http.StatusBadRequest {
			t.Errorf("%s: %d %q, want the expensive route's 429 (or 400)", p, code, reason)
		}
	}
	paths.Range(func(k, _ any) bool {
		if p := k.(string); p != "/api/expensive" {
			t.Errorf("the upstream saw %q", p)
		}
		return true
	})
}

var _ = atomic.Int32{}

// A request refused before its body is read (shed, rate limited, no
// route) is answered at once, whatever its client does with the rest of
// the body: net/http would otherwise read what is left before answering.
// The same for a request refused by the open breaker after the proxy took
// its body.
func TestRefusedUploadAnsweredAtOnce(t *testing.T) {
	up, arrived, release := holdingUpstream(t)
	f := newFixture(t, `routes:
  - {name: shed, prefix: /shed, upstream: '%[1]s', bulkhead: {max_concurrent: 1}}
  - {name: open, prefix: /open, upstream: '%[1]s', breaker: {window: consecutive, window_size: 1, wait: 1m}}
`, up)
	held := make(chan struct{})
	go func() {
		defer close(held)
		resp, err := f.client.Get(f.proxy.URL + "/shed/hold")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	select {
	case <-arrived: // at the upstream: the bulkhead's slot is taken
	case <-time.After(10 * time.Second):
		t.Fatal("the request holding the bulkhead never reached the upstream")
	}
	must(f.s.Breaker("open"))(t).ForceOpen()
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	for _, tc := range []struct {
		path string
		want int
	}{{"/shed/x", 503}, {"/open/x", 503}, {"/nowhere", 404}} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, "PUT "+tc.path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx") // and no more
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Errorf("%s: no answer while the body is unfinished: %v", tc.path, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	close(release)
	<-held
}

// F3: a backslash, raw or percent-encoded, is refused with 400: an upstream
// that reads "\" as "/" would otherwise serve a stricter route's path
// without that route's limits.
func TestBackslashPathsAreRefused(t *testing.T) {
	var calls atomic.Int32
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, "ok")
	})
	f := newFixture(t, `routes:
  - {name: expensive, prefix: /api/expensive, upstream: '%[1]s', rate_limit: {rate: 0.001, burst: 1}}
  - {name: all, prefix: /, upstream: '%[1]s'}
`, up)
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	for _, p := range []string{`/a/..\api\expensive`, `/api\expensive`, "/a/..%5Capi%5Cexpensive", "/a/..%5capi%5cexpensive", `/\`} {
		code, reason := rawRequest(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if code != http.StatusBadRequest || reason != "bad_request" {
			t.Errorf("%s: %d %q, want 400 bad_request", p, code, reason)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the upstream got %d requests, want 0", n)
	}
	if code, _ := rawRequest(t, addr, "GET /api/x%5Fy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); code != 200 {
		t.Errorf("GET /api/x%%5Fy: %d, want 200", code)
	}
}

// F2: CONNECT is answered 405 with Allow, not forwarded; a request-target
// of "*" (asterisk-form) is answered 400, not forwarded as "/*".
func TestConnectAndAsteriskFormAreRefused(t *testing.T) {
	var calls atomic.Int32
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, "ok")
	})
	f := newFixture(t, "routes:\n  - {name: all, prefix: /, upstream: '%s'}\n", up)
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	for _, tc := range []struct {
		raw, reason string
		code        int
	}{
		{"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n", "method_not_allowed", http.StatusMethodNotAllowed},
		{"CONNECT /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "method_not_allowed", http.StatusMethodNotAllowed},
		{"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "bad_request", http.StatusBadRequest},
		{"POST * HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", "bad_request", http.StatusBadRequest},
		// net/http answers OPTIONS * itself; it must not be forwarded either.
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", http.StatusOK},
	} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("%q: %v", tc.raw, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code || resp.Header.Get(HeaderReason) != tc.reason {
			t.Errorf("%q: %d %q, want %d %s", tc.raw, resp.StatusCode, resp.Header.Get(HeaderReason), tc.code, tc.reason)
		}
		if tc.code == http.StatusMethodNotAllowed && !strings.Contains(resp.Header.Get("Allow"), "GET") {
			t.Errorf("%q: Allow %q, want the methods the proxy forwards", tc.raw, resp.Header.Get("Allow"))
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the upstream got %d requests, want 0", n)
	}
}

// F1: with only an attempt timeout, a client that stalls its upload is
// answered 408 once the attempt times out (net/http's Transport would
// otherwise wait for its body writer, blocked reading the client with no
// deadline), the breaker does not count it, and its bulkhead slot is free.
func TestStalledUploadEndsWithAttemptTimeout(t *testing.T) {
	const attempt = 300 * time.Millisecond
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 300ms, bulkhead: {max_concurrent: 1}, breaker: {window: consecutive, window_size: 1, wait: 1m}}\n", up)
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	io.WriteString(c, "PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc") // then stalls
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the stalled upload got no answer: %v", err)
	}
	resp.Body.Close()
	// The bound is loose on purpose (real sockets, a loaded CI machine under
	// -race): before the fix the request hung until the client gave up.
	if took, limit := time.Since(start), attempt+time.Second; took > limit {
		t.Errorf("the stalled upload was answered after %v, want within %v", took, limit)
	}
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get(HeaderReason) != "body_timeout" {
		t.Errorf("the stalled upload got %d %q, want 408 body_timeout", resp.StatusCode, resp.Header.Get(HeaderReason))
	}
	if got := do(t, f.client, http.MethodPut, f.proxy.URL+"/up", "payload"); got.code != 200 {
		t.Errorf("another client got %d %q, want 200: the stalled upload holds the bulkhead", got.code, got.header.Get(HeaderReason))
	}
	s := f.s.snapshot().Routes[0]
	if s.Counts.BodyTimeout != 1 {
		t.Errorf("body_timeout outcomes = %d, want 1", s.Counts.BodyTimeout)
	}
	if s.Breaker.Failures != 0 {
		t.Errorf("the breaker counted %d failures, want 0: the stall is the client's", s.Breaker.Failures)
	}
}

// An upstream that sends its headers and then drips its body: the client
// gets the status line and each byte as it comes, not when the body ends
// (nginx's proxy_buffering off; Envoy streams by default).
func TestDrippingBodyIsStreamed(t *testing.T) {
	for _, length := range []bool{false, true} {
		release := make(chan struct{})
		up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
			if length {
				w.Header().Set("Content-Length", "2")
			}
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			io.WriteString(w, "b")
		})
		f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 30s, retry: {max_attempts: 2}}\n", up)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", f.proxy.URL+"/", nil)
		resp, err := f.client.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("Content-Length %v: no status line while the body drips: %v", length, err)
		}
		first := make([]byte, 1)
		if _, err := io.ReadFull(resp.Body, first); err != nil || first[0] != 'a' {
			t.Errorf("Content-Length %v: first byte %q, %v; want it before the upstream sends the rest", length, first, err)
		}
		close(release)
		rest, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != 200 || string(rest) != "b" || err != nil {
			t.Errorf("Content-Length %v: %d, rest %q, %v", length, resp.StatusCode, rest, err)
		}
	}
}

// A client that sends Expect: 100-continue gets one 100 Continue, from
// the proxy, which then has the body: the upstream is not asked again
// (it would send a second 100 that the proxy passed on).
func TestExpectContinueAnsweredOnce(t *testing.T) {
	var expect atomic.Value
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		expect.Store(r.Header.Get("Expect"))
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	for _, route := range []string{"", ", retry: {max_attempts: 2}"} { // streamed, then buffered
		f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s'"+route+"}\n", up)
		expectContinueOnce(t, f)
		if e, _ := expect.Load().(string); e != "" {
			t.Errorf("route %q: the upstream was sent Expect: %q", route, e)
		}
	}
}

func expectContinueOnce(t *testing.T, f *fixture) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(f.proxy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("100 Continue followed by %q", l)
	}
	io.WriteString(c, "hello")
	var statuses []string
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %v: %v", statuses, err)
		}
		statuses = append(statuses, resp.Status)
		if resp.StatusCode >= 200 {
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(b) != "hello" {
				t.Errorf("answer %d %q", resp.StatusCode, b)
			}
			break
		}
	}
	if len(statuses) != 1 {
		t.Errorf("after the body the client got %v; want only the final answer", statuses)
	}
}

// An upstream's 1xx (here 103 Early Hints) does not take the rate limit's
// headers off the final answer: ReverseProxy empties the answer's header
// map after forwarding a 1xx.
func TestRateLimitHeadersSurviveEarlyHints(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "ok")
	})
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', rate_limit: {rate: 100, burst: 10}}\n", up)
	resp, err := f.client.Get(f.proxy.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Header.Values("RateLimit-Limit")) != 1 || resp.Header.Get("RateLimit-Remaining") == "" {
		t.Errorf("%d with RateLimit-Limit %q, RateLimit-Remaining %q; want 200 with both, once",
			resp.StatusCode, resp.Header.Values("RateLimit-Limit"), resp.Header.Get("RateLimit-Remaining"))
	}
}

// A client that sends a request and never reads the answer does not hold
// the route's bulkhead slot past request_timeout: the proxy's writes to it
// have a deadline (the request's, plus writeGrace).
func TestUnreadAnswerFreesBulkhead(t *testing.T) {
	chunk := strings.Repeat("x", 64<<10)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			return
		}
		for r.Context().Err() == nil { // until the proxy gives up
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', request_timeout: 300ms, bulkhead: {max_concurrent: 1}}\n", up)
	c, err := net.Dial("tcp", strings.TrimPrefix(f.proxy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	// The slot is taken while the proxy streams; once the request's
	// deadline and the grace have passed, another client gets through.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := f.get(t, "/small")
		if got.code == 200 {
			break
		}
		if got.code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("second client: %d; the slot was still held after 10 s", got.code)
		}
		time.Sleep(20 * time.Millisecond) // polling an outcome, not waiting for one
	}
}
