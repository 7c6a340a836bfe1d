package bulwarkhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
)

// quietReporter keeps recovered panics out of the test log.
var quietReporter = &recovery.Reporter{Logger: slog.New(slog.DiscardHandler)}

// serve runs h on loopback and returns its URL and a client.
func serve(t *testing.T, h http.Handler) (string, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: base}
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req := must(http.NewRequest(http.MethodGet, url, nil))(t)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp := must(c.Do(req))(t)
	return resp, readAll(t, resp)
}

func wantHeaders(t *testing.T, resp *http.Response, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if got := resp.Header.Get(kv[i]); got != kv[i+1] {
			t.Errorf("%s: %q, want %q", kv[i], got, kv[i+1])
		}
	}
}

func TestRecover(t *testing.T) {
	var reported atomic.Int32
	rep := &recovery.Reporter{Logger: slog.New(slog.DiscardHandler), OnPanic: func(*recovery.PanicError) { reported.Add(1) }}
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Secret", "1")
		panic("boom")
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("boom")
	})
	url, c := serve(t, Recover(rep)(mux))
	resp, _ := get(t, c, url+"/early")
	if resp.StatusCode != 500 || resp.Header.Get("X-Secret") != "" {
		t.Errorf("panic before the response: got %d (X-Secret %q), want 500 without the handler's headers", resp.StatusCode, resp.Header.Get("X-Secret"))
	}
	resp2, err := c.Get(url + "/late")
	if err == nil {
		_, err = io.ReadAll(resp2.Body)
		resp2.Body.Close()
	}
	if err == nil {
		t.Errorf("panic after the response started: the client read a complete response")
	}
	if reported.Load() != 2 {
		t.Errorf("%d panics reported, want 2", reported.Load())
	}
}

// blocker is a handler that holds requests until released.
type blocker struct {
	entered chan struct{}
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (b *blocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Pass") != "" {
		io.WriteString(w, "done")
		return
	}
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-r.Context().Done():
	}
	io.WriteString(w, "done")
}

func TestBulkheadMiddleware(t *testing.T) {
	bh := must(bulkhead.New(bulkhead.Config{MaxConcurrent: 1}))(t)
	b := newBlocker()
	url, c := serve(t, Bulkhead(bh)(b))
	first := make(chan string)
	go func() {
		resp, err := c.Get(url)
		if err != nil {
			first <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first <- string(b)
	}()
	<-b.entered
	resp, body := get(t, c, url)
	if resp.StatusCode != 503 || !strings.Contains(body, "Service Unavailable") {
		t.Errorf("got %d %q, want 503", resp.StatusCode, body)
	}
	wantHeaders(t, resp, "Retry-After", "1")
	close(b.release)
	if got := <-first; got != "done" {
		t.Errorf("first request: %q", got)
	}
	if s := bh.Snapshot(); s.InUse != 0 {
		t.Errorf("%d permits still held", s.InUse)
	}
}

func TestAdaptiveShedsLowPriorityFirst(t *testing.T) {
	lim := must(adaptive.New(adaptive.Config{Algorithm: adaptive.AIMD{}, InitialLimit: 2, MinLimit: 2, MaxLimit: 2}))(t)
	b := newBlocker()
	url, c := serve(t, Adaptive(lim, nil)(b))
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("X-Priority", "critical")
		if resp, err := c.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-b.entered // one request in flight: low priority (half the limit, 1) is now full
	resp, _ := get(t, c, url, "X-Priority", "low")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("low priority with 1 of 2 in flight: got %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, body := get(t, c, url, "X-Priority", "normal", "X-Pass", "1")
	if resp.StatusCode != 200 || body != "done" {
		t.Errorf("normal priority with 1 of 2 in flight: got %d %q, want 200", resp.StatusCode, body)
	}
	close(b.release)
	<-done
	if s := lim.Snapshot(); s.InFlight != 0 || s.Shed != 1 {
		t.Errorf("limiter: %d in flight, %d shed; want 0, 1", s.InFlight, s.Shed)
	}
}

func TestPriorityHeader(t *testing.T) {
	p := PriorityHeader("")
	for _, tc := range []struct {
		v    string
		want adaptive.Priority
	}{
		{"critical", adaptive.PriorityCritical}, {"HIGH", adaptive.PriorityCritical}, {" low ", adaptive.PriorityLow},
		{"normal", adaptive.PriorityNormal}, {"", adaptive.PriorityNormal}, {"urgent!", adaptive.PriorityNormal},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.v != "" {
			r.Header.Set("X-Priority", tc.v)
		}
		if got := p(r); got != tc.want {
			t.Errorf("X-Priority %q: %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestBreakerMiddleware(t *testing.T) {
	br := must(breaker.New(breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 2, WaitDuration: 30 * time.Second}))(t)
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/broken":
			http.Error(w, "broken", http.StatusBadGateway)
		default:
			io.WriteString(w, "ok")
		}
	})
	url, c := serve(t, Breaker(br, nil)(h))
	for _, path := range []string{"/missing", "/missing", "/missing", "/broken", "/"} {
		get(t, c, url+path)
	}
	if s := br.Snapshot(); s.State != breaker.StateClosed || s.ConsecutiveFailures != 0 {
		t.Fatalf("breaker %v with %d failures in a row; 404s must not count", s.State, s.ConsecutiveFailures)
	}
	get(t, c, url+"/broken")
	get(t, c, url+"/broken")
	before := calls.Load()
	resp, _ := get(t, c, url+"/")
	if resp.StatusCode != 503 || calls.Load() != before {
		t.Errorf("open breaker: got %d, handler called %d more times; want 503 without calling it", resp.StatusCode, calls.Load()-before)
	}
	wantHeaders(t, resp, "Retry-After", "30")
}

func TestBreakerIgnoresInnerRejections(t *testing.T) {
	br := must(breaker.New(breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 1}))(t)
	bh := must(bulkhead.New(bulkhead.Config{MaxConcurrent: 1}))(t)
	b := newBlocker()
	url, c := serve(t, Stack(Breaker(br, nil), Bulkhead(bh))(b))
	held := make(chan struct{})
	go func() {
		defer close(held)
		if resp, err := c.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-b.entered
	resp, _ := get(t, c, url)
	if resp.StatusCode != 503 {
		t.Errorf("got %d, want the bulkhead's 503", resp.StatusCode)
	}
	close(b.release)
	<-held
	if s := br.Snapshot(); s.State != breaker.StateClosed {
		t.Errorf("breaker %v: the bulkhead's refusal was counted as a failure", s.State)
	}
}

func TestRateLimitMiddleware(t *testing.T) {
	lim := must(ratelimit.New(ratelimit.Config{Limit: 2, Per: time.Hour, Burst: 2}))(t)
	url, c := serve(t, RateLimit(lim)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	resp, _ := get(t, c, url)
	wantHeaders(t, resp, "RateLimit-Limit", "2", "RateLimit-Remaining", "1", "Retry-After", "")
	if resp.StatusCode != 200 {
		t.Errorf("first: %d", resp.StatusCode)
	}
	resp, _ = get(t, c, url)
	wantHeaders(t, resp, "RateLimit-Limit", "2", "RateLimit-Remaining", "0")
	resp, _ = get(t, c, url)
	if resp.StatusCode != 429 {
		t.Errorf("third: %d, want 429", resp.StatusCode)
	}
	// The third comes 30 min early (2 per hour); the burst is full again an hour after the first two.
	wantHeaders(t, resp, "RateLimit-Limit", "2", "RateLimit-Remaining", "0")
	ra, reset := resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Reset")
	if !between(ra, 1790, 1800) || !between(reset, 3590, 3600) {
		t.Errorf("Retry-After %q (want ~1800), RateLimit-Reset %q (want ~3600)", ra, reset)
	}
}

func between(s string, lo, hi int) bool {
	var n int
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return s != "" && n >= lo && n <= hi
}

func TestRateLimitByKeyMiddleware(t *testing.T) {
	lim := must(ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Limit: 1, Per: time.Hour}}))(t)
	key := func(r *http.Request) string { return r.Header.Get("X-Client") }
	url, c := serve(t, RateLimitByKey(lim, key)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	codes := func(client string) int {
		resp, _ := get(t, c, url, "X-Client", client)
		return resp.StatusCode
	}
	got := []int{codes("a"), codes("a"), codes("b"), codes("b")}
	want := []int{200, 429, 200, 429}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statuses %v, want %v", got, want)
			break
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies: peer, header ignored", nil, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"untrusted peer: header ignored", trusted, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"trusted peer: rightmost entry", trusted, "10.1.1.1:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"spoofed left entries ignored", trusted, "10.1.1.1:5000", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"skips trusted hops", trusted, "10.1.1.1:5000", []string{"1.2.3.4, 203.0.113.9, 10.2.2.2"}, "203.0.113.9"},
		{"several headers", trusted, "10.1.1.1:5000", []string{"1.2.3.4", "203.0.113.9, 10.2.2.2"}, "203.0.113.9"},
		{"all trusted: leftmost", trusted, "10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"no header: peer", trusted, "10.1.1.1:5000", nil, "10.1.1.1"},
		{"garbage: peer", trusted, "10.1.1.1:5000", []string{"1.2.3.4, not-an-ip"}, "10.1.1.1"},
		{"entry with port", trusted, "10.1.1.1:5000", []string{"203.0.113.9:443"}, "203.0.113.9"},
		{"IPv6", trusted, "[fd00::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped", trusted, "10.1.1.1:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(tc.trusted...)(r); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatusWriterKeepsFlusherAndHijacker(t *testing.T) {
	br := must(breaker.New(breaker.Config{}))(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		if _, ok := w.(http.Flusher); !ok {
			t.Errorf("not an http.Flusher")
		}
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})
	served := make(chan struct{}, 2)
	inner := Breaker(br, nil)(mux)
	url, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r)
		served <- struct{}{}
	}))
	if _, body := get(t, c, url+"/flush"); body != "a" {
		t.Errorf("flush body %q", body)
	}
	if _, body := get(t, c, url+"/hijack"); body != "hijacked" {
		t.Errorf("hijack body %q", body)
	}
	<-served
	<-served
	if s := br.Snapshot(); s.Calls != 1 || s.Ignored != 1 {
		t.Errorf("breaker: %d calls, %d ignored; a hijacked connection is not counted", s.Calls, s.Ignored)
	}
}

func TestTimeoutMiddleware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		var lateWrite error
		handlerDone := make(chan struct{})
		mux := http.NewServeMux()
		mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
			defer close(handlerDone)
			w.Header().Set("X-From-Handler", "1")
			<-r.Context().Done()
			cause = context.Cause(r.Context())
			_, lateWrite = io.WriteString(w, "too late")
		})
		mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-From-Handler", "1")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "made")
		})
		mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "part")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		base, stop := servePipe(Timeout(time.Second)(mux))
		defer stop()
		c := &http.Client{Transport: base}

		start := time.Now()
		resp, body := get(t, c, "http://x/slow")
		if resp.StatusCode != 503 || body != "handler timeout\n" || resp.Header.Get("X-From-Handler") != "" {
			t.Errorf("slow: got %d %q (X-From-Handler %q), want 503 %q", resp.StatusCode, body, resp.Header.Get("X-From-Handler"), "handler timeout\n")
		}
		if time.Since(start) != time.Second {
			t.Errorf("answered after %v, want 1s", time.Since(start))
		}
		<-handlerDone
		if cause != http.ErrHandlerTimeout || lateWrite != http.ErrHandlerTimeout {
			t.Errorf("handler saw cause %v and late write error %v, want http.ErrHandlerTimeout for both", cause, lateWrite)
		}

		resp, body = get(t, c, "http://x/fast")
		if resp.StatusCode != 201 || body != "made" || resp.Header.Get("X-From-Handler") != "1" {
			t.Errorf("fast: got %d %q (X-From-Handler %q)", resp.StatusCode, body, resp.Header.Get("X-From-Handler"))
		}

		resp, err := c.Get("http://x/stream")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Errorf("stream: a response that timed out after it started must be aborted")
		}
	})
}

func TestTimeoutPanicReachesRecover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := Stack(Recover(quietReporter), Timeout(time.Second))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("inside")
		}))
		base, stop := servePipe(h)
		defer stop()
		resp, _ := get(t, &http.Client{Transport: base}, "http://x/")
		if resp.StatusCode != 500 {
			t.Errorf("got %d, want 500", resp.StatusCode)
		}
	})
}

func TestProtect(t *testing.T) {
	br := must(breaker.New(breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 3}))(t)
	lim := must(adaptive.New(adaptive.Config{InitialLimit: 4, MinLimit: 4, MaxLimit: 4}))(t)
	rl := must(ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Rate: 1000, Burst: 100}}))(t)
	mw := must(Protect(ServerConfig{
		Reporter: quietReporter, RateLimitByKey: rl, Breaker: br, Adaptive: lim, Timeout: time.Minute,
	}))(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	url, c := serve(t, mw(mux))
	resp, body := get(t, c, url+"/ok")
	if resp.StatusCode != 200 || body != "ok" || resp.Header.Get("RateLimit-Limit") != "100" {
		t.Errorf("got %d %q, RateLimit-Limit %q", resp.StatusCode, body, resp.Header.Get("RateLimit-Limit"))
	}
	for range 3 {
		if resp, _ := get(t, c, url+"/panic"); resp.StatusCode != 500 {
			t.Errorf("panic: got %d, want 500", resp.StatusCode)
		}
	}
	if br.State() != breaker.StateOpen {
		t.Errorf("three panics in a row: breaker %v, want open", br.State())
	}
	if resp, _ := get(t, c, url+"/ok"); resp.StatusCode != 503 {
		t.Errorf("open breaker: %d, want 503", resp.StatusCode)
	}
	if s := lim.Snapshot(); s.InFlight != 0 {
		t.Errorf("%d still in flight", s.InFlight)
	}
}

func TestProtectErrors(t *testing.T) {
	bh := must(bulkhead.New(bulkhead.Config{MaxConcurrent: 1}))(t)
	lim := must(adaptive.New(adaptive.Config{}))(t)
	for _, tc := range []struct {
		c    ServerConfig
		want string
	}{
		{ServerConfig{Bulkhead: bh, Adaptive: lim}, "Bulkhead and Adaptive"},
		{ServerConfig{Timeout: -1}, "Timeout"},
		{ServerConfig{ClientKey: ClientIP()}, "ClientKey"},
		{ServerConfig{IsFailure: func(int) bool { return true }}, "IsFailure"},
		{ServerConfig{Priority: PriorityHeader("")}, "Priority"},
	} {
		if _, err := Protect(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s", err, tc.want)
		}
	}
}

func TestServerSideClientCancel(t *testing.T) {
	br := must(breaker.New(breaker.Config{}))(t)
	lim := must(adaptive.New(adaptive.Config{}))(t)
	b := newBlocker()
	served := make(chan struct{})
	inner := Stack(Breaker(br, nil), Adaptive(lim, nil))(b)
	url, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r)
		close(served)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-b.entered; cancel() }()
	req := must(http.NewRequestWithContext(ctx, http.MethodGet, url, nil))(t)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	<-served // the server notices the cancellation on its own time
	if s := br.Snapshot(); s.Calls != 0 || s.Ignored != 1 {
		t.Errorf("breaker counted %d calls, ignored %d; a client that went away is not the handler's failure", s.Calls, s.Ignored)
	}
	if s := lim.Snapshot(); s.InFlight != 0 {
		t.Errorf("limiter: %d in flight", s.InFlight)
	}
}

var _ = bufio.NewReader
