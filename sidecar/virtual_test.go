package sidecar

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// bubble is a sidecar and an upstream on an in-memory network, for tests
// inside a synctest bubble: time there is virtual.
type bubble struct {
	s      *Server
	net    *memNet
	client *http.Client
	proxy  string // base URL
}

// newBubble starts an upstream serving h and a sidecar configured by yaml
// (whose %s is the upstream's URL). Everything stops when the test ends.
func newBubble(t *testing.T, yaml string, h http.Handler) *bubble {
	t.Helper()
	n := newMemNet()
	ul, _ := n.Listen("tcp", "127.0.0.1:0")
	up := &http.Server{Handler: h}
	go up.Serve(ul)
	cfg, err := ParseConfig(fmt.Appendf(nil, yaml, "http://"+ul.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	base := &http.Transport{DialContext: n.Dial}
	s, err := New(cfg, Options{Transport: base})
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := n.Listen("tcp", "127.0.0.1:0")
	al, _ := n.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pl, al) }()
	b := &bubble{s: s, net: n, client: &http.Client{Transport: &http.Transport{DialContext: n.Dial}}, proxy: "http://" + pl.Addr().String()}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		up.Close()
		base.CloseIdleConnections()
		b.client.CloseIdleConnections()
	})
	return b
}

func (b *bubble) get(t *testing.T, path string) response {
	t.Helper()
	return do(t, b.client, http.MethodGet, b.proxy+path, "")
}

func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delay atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Duration(delay.Load())):
				io.WriteString(w, "late")
			case <-r.Context().Done():
			}
		})
		b := newBubble(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 100ms, breaker: {}}\n", h)
		delay.Store(int64(time.Second))
		start := time.Now()
		got := b.get(t, "/")
		if got.code != http.StatusGatewayTimeout || got.header.Get(HeaderReason) != "timeout" {
			t.Errorf("got %d %v, want 504 timeout", got.code, got.header)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Errorf("answered after %v, want 100ms", d)
		}
		delay.Store(int64(50 * time.Millisecond))
		if got := b.get(t, "/"); got.code != 200 || got.body != "late" {
			t.Errorf("under the timeout: %d %q", got.code, got.body)
		}
		rs := b.s.snapshot().Routes[0]
		if rs.Timeout.Timeouts != 1 || rs.Timeout.Calls != 2 || rs.Breaker.Failures != 1 || rs.Counts.Timeout != 1 {
			t.Errorf("timeout %+v, breaker failures %d, counts %+v", rs.Timeout, rs.Breaker.Failures, rs.Counts)
		}
	})
}

func TestTimeoutRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				<-r.Context().Done() // the first attempt hangs
				return
			}
			io.WriteString(w, "second")
		})
		b := newBubble(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', timeout: 100ms, retry: {backoff: constant, initial_backoff: 10ms, jitter: none}}\n", h)
		start := time.Now()
		got := b.get(t, "/")
		if got.code != 200 || got.body != "second" || got.header.Get(HeaderAttempts) != "2" {
			t.Errorf("got %d %q attempts %q", got.code, got.body, got.header.Get(HeaderAttempts))
		}
		if d := time.Since(start); d != 110*time.Millisecond {
			t.Errorf("took %v, want 100ms + 10ms backoff", d)
		}
	})
}

func TestBreakerRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var healthy atomic.Bool
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !healthy.Load() {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
		b := newBubble(t, `
routes:
  - name: api
    prefix: /
    upstream: %s
    breaker: {window: consecutive, window_size: 2, wait: 10s, half_open_calls: 1}
`, h)
		b.get(t, "/")
		b.get(t, "/")
		if got := b.get(t, "/"); got.header.Get(HeaderReason) != "breaker_open" || got.header.Get("Retry-After") != "10" {
			t.Fatalf("after 2 failures: %d %v", got.code, got.header)
		}
		healthy.Store(true)
		time.Sleep(5 * time.Second)
		if got := b.get(t, "/"); got.header.Get("Retry-After") != "5" {
			t.Errorf("5s later Retry-After = %q, want 5", got.header.Get("Retry-After"))
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := b.get(t, "/"); got.code != 200 {
			t.Fatalf("after the wait, the probe: %d %v", got.code, got.header)
		}
		br := b.s.snapshot().Routes[0].Breaker
		if br.State != "closed" || br.Opened != 1 || br.Closed != 1 {
			t.Errorf("breaker = %s opened %d closed %d", br.State, br.Opened, br.Closed)
		}
		var path []string
		for _, c := range br.Changes {
			path = append([]string{c.From + ">" + c.To}, path...)
		}
		if got, want := strings.Join(path, " "), "closed>open open>half-open half-open>closed"; got != want {
			t.Errorf("changes %q, want %q", got, want)
		}
	})
}

func TestUpstreamRetryAfterHonoured(t *testing.T) {
	for _, tt := range []struct {
		name  string
		value func(now time.Time) string // the upstream's Retry-After
		want  time.Duration
	}{
		{"seconds", func(time.Time) string { return "1" }, time.Second},
		{"http-date", func(now time.Time) string { return now.Add(2 * time.Second).UTC().Format(http.TimeFormat) }, 2 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if calls.Add(1) == 1 {
						w.Header().Set("Retry-After", tt.value(time.Now()))
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					io.WriteString(w, "ok")
				})
				b := newBubble(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', retry: {backoff: constant, initial_backoff: 1ms}}\n", h)
				start := time.Now()
				if got := b.get(t, "/"); got.code != 200 {
					t.Fatalf("got %d", got.code)
				}
				if d := time.Since(start); d != tt.want {
					t.Errorf("retried after %v, want the upstream's Retry-After of %v", d, tt.want)
				}
			})
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	for _, tt := range []struct {
		name     string
		slow     time.Duration
		wantCode int  // the in-flight request's answer
		wantErr  bool // Serve's error: the deadline passed
	}{
		{"request finishes", 500 * time.Millisecond, 200, false},
		{"deadline passes", 5 * time.Second, 503, true}, // answered before its connection closes
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := newMemNet()
				entered := make(chan struct{})
				ul, _ := n.Listen("tcp", "127.0.0.1:0")
				up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					close(entered)
					select {
					case <-time.After(tt.slow):
						io.WriteString(w, "done")
					case <-r.Context().Done(): // the proxy was closed
					}
				})}
				go up.Serve(ul)
				defer up.Close()
				cfg := mustParse(t, "shutdown_timeout: 1s\nroutes:\n  - {name: api, prefix: /, upstream: 'http://"+ul.Addr().String()+"'}\n")
				base := &http.Transport{DialContext: n.Dial}
				defer base.CloseIdleConnections()
				s, _ := New(cfg, Options{Transport: base})
				pl, _ := n.Listen("tcp", "127.0.0.1:0")
				al, _ := n.Listen("tcp", "127.0.0.1:0")
				ctx, cancel := context.WithCancel(t.Context())
				served := make(chan error, 1)
				go func() { served <- s.Serve(ctx, pl, al) }()
				client := &http.Client{Transport: &http.Transport{DialContext: n.Dial}}
				defer client.CloseIdleConnections()
				answered := make(chan int, 1)
				go func() {
					resp, err := client.Get("http://" + pl.Addr().String() + "/")
					if err != nil {
						answered <- 0
						return
					}
					resp.Body.Close()
					if resp.StatusCode == 503 && (!resp.Close || resp.Header.Get(HeaderReason) != "shutdown") {
						t.Errorf("503 without Connection: close and reason shutdown: %v", resp.Header)
					}
					answered <- resp.StatusCode
				}()
				<-entered
				start := time.Now()
				cancel() // SIGINT
				err := <-served
				if (err != nil) != tt.wantErr {
					t.Errorf("Serve returned %v after %v", err, time.Since(start))
				}
				if d := time.Since(start); tt.wantErr && (d < time.Second || d > time.Second+drainGrace) {
					t.Errorf("Serve gave up after %v, want the 1s shutdown_timeout and at most %v more", d, drainGrace)
				}
				if code := <-answered; code != tt.wantCode {
					t.Errorf("the request in flight got %d, want %d", code, tt.wantCode)
				}
			})
		})
	}
}
