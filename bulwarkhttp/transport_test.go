package bulwarkhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/upstreamtest"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func TestRetryByMethodAndBody(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		body     func() io.Reader // nil: no body
		header   string           // Idempotency-Key value
		wantReqs int
	}{
		{"GET", http.MethodGet, nil, "", 2},
		{"HEAD", http.MethodHead, nil, "", 2},
		{"OPTIONS", http.MethodOptions, nil, "", 2},
		{"TRACE", http.MethodTrace, nil, "", 2},
		{"DELETE", http.MethodDelete, nil, "", 2},
		{"PUT replayable body", http.MethodPut, func() io.Reader { return strings.NewReader("payload") }, "", 2},
		{"PUT body without GetBody", http.MethodPut, func() io.Reader { return io.NopCloser(strings.NewReader("payload")) }, "", 1},
		{"POST", http.MethodPost, func() io.Reader { return strings.NewReader("payload") }, "", 1},
		{"PATCH", http.MethodPatch, func() io.Reader { return strings.NewReader("payload") }, "", 1},
		{"POST with Idempotency-Key", http.MethodPost, func() io.Reader { return strings.NewReader("payload") }, "k-1", 2},
		{"POST with Idempotency-Key, body without GetBody", http.MethodPost, func() io.Reader { return io.NopCloser(strings.NewReader("payload")) }, "k-1", 1},
		{"POST without body, Idempotency-Key", http.MethodPost, nil, "k-2", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, step{status: 503}, step{status: 200})
			client, _ := newClient(t, TransportConfig{Retry: fastRetry(3)})
			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			req := must(http.NewRequest(tc.method, srv.URL, body))(t)
			if tc.header != "" {
				req.Header.Set(IdempotencyKey, tc.header)
			}
			resp := must(client.Do(req))(t)
			readAll(t, resp)
			if got := srv.requests(); got != tc.wantReqs {
				t.Errorf("server saw %d requests, want %d", got, tc.wantReqs)
			}
			wantStatus := 200
			if tc.wantReqs == 1 {
				wantStatus = 503
			}
			if resp.StatusCode != wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, wantStatus)
			}
			if tc.body != nil && tc.method != http.MethodHead {
				for i, b := range srv.bodies {
					if b != "payload" {
						t.Errorf("attempt %d sent body %q, want %q", i+1, b, "payload")
					}
				}
			}
		})
	}
}

func TestRetryByStatus(t *testing.T) {
	tests := []struct {
		status int
		retry  bool
	}{
		{408, true}, {429, true}, {502, true}, {503, true}, {504, true},
		{400, false}, {401, false}, {403, false}, {404, false}, {409, false}, {422, false},
		{500, false}, {501, false}, {505, false}, {200, false}, {204, false}, {301, false},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := newScripted(t, step{status: tc.status}, step{status: 299})
			client, _ := newClient(t, TransportConfig{Retry: fastRetry(3)})
			req := must(http.NewRequest(http.MethodGet, srv.URL, nil))(t)
			resp := must((&http.Client{Transport: client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			}}).Do(req))(t)
			readAll(t, resp)
			want, wantReqs := tc.status, 1
			if tc.retry {
				want, wantReqs = 299, 2
			}
			if resp.StatusCode != want || srv.requests() != wantReqs {
				t.Errorf("got status %d after %d requests, want %d after %d", resp.StatusCode, srv.requests(), want, wantReqs)
			}
		})
	}
}

func TestCustomRetryStatus(t *testing.T) {
	srv := newScripted(t, step{status: 500}, step{status: 200})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3), RetryStatus: func(c int) bool { return c == 500 }})
	resp := must(client.Get(srv.URL))(t)
	readAll(t, resp)
	if resp.StatusCode != 200 || srv.requests() != 2 {
		t.Errorf("got %d after %d requests, want 200 after 2", resp.StatusCode, srv.requests())
	}
}

func TestLastResponsePreservedAndConnectionsReused(t *testing.T) {
	srv := newScripted(t, step{status: 503, body: "busy 1"}, step{status: 502, body: "busy 2"}, step{status: 503, body: "busy 3"})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3)})
	resp := must(client.Get(srv.URL))(t)
	if got := readAll(t, resp); resp.StatusCode != 503 || got != "busy 3" {
		t.Errorf("got %d %q, want the last response: 503 %q", resp.StatusCode, got, "busy 3")
	}
	if srv.requests() != 3 {
		t.Errorf("server saw %d requests, want 3", srv.requests())
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1: discarded bodies must be drained so the connection is reused", n)
	}
}

func TestLargeDiscardedBodyClosesConnection(t *testing.T) {
	big := strings.Repeat("x", maxDrain*2)
	srv := newScripted(t, step{status: 503, body: big}, step{status: 200})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3)})
	resp := must(client.Get(srv.URL))(t)
	if got := readAll(t, resp); resp.StatusCode != 200 || got != "answer 2" {
		t.Errorf("got %d %q, want 200 %q", resp.StatusCode, got, "answer 2")
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2 (a body over 64 KiB is not drained)", n)
	}
}

func TestConnectionFailureRetried(t *testing.T) {
	srv := newScripted(t, step{hangup: true}, step{status: 200})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3)})
	resp := must(client.Get(srv.URL))(t)
	readAll(t, resp)
	if resp.StatusCode != 200 || srv.requests() != 2 {
		t.Errorf("got %d after %d requests, want 200 after 2", resp.StatusCode, srv.requests())
	}
}

func TestConnectionFailureNotRetriedForPost(t *testing.T) {
	srv := newScripted(t, step{hangup: true}, step{status: 200})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3)})
	_, err := client.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err == nil || srv.requests() != 1 {
		t.Errorf("got err %v after %d requests, want an error after 1", err, srv.requests())
	}
}

func TestConnectionRefusedExhausts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var retries int
	rc := fastRetry(3)
	rc.OnRetry = func(context.Context, retry.Event) { retries++ }
	client, _ := newClient(t, TransportConfig{Retry: rc})
	_, err = client.Get("http://" + addr)
	var oe *net.OpError
	if !errors.Is(err, retry.ErrExhausted) || !errors.As(err, &oe) {
		t.Errorf("got %v, want retry.ErrExhausted wrapping a *net.OpError", err)
	}
	if retries != 2 {
		t.Errorf("%d retries, want 2", retries)
	}
}

func TestRetryAfterTooLongNotRetried(t *testing.T) {
	srv := newScripted(t, step{status: 503, retryAfter: "120"}, step{status: 200})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3)}) // MaxPushback 30 s
	resp := must(client.Get(srv.URL))(t)
	readAll(t, resp)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "120" || srv.requests() != 1 {
		t.Errorf("got %d (Retry-After %q) after %d requests, want the 503 at once", resp.StatusCode, resp.Header.Get("Retry-After"), srv.requests())
	}
}

func TestRequestNotModifiedAndBodyClosed(t *testing.T) {
	srv := newScripted(t, step{status: 503}, step{status: 503}, step{status: 200})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3), AttemptTimeout: time.Minute})
	body := &trackedBody{Reader: strings.NewReader("payload")}
	req := must(http.NewRequest(http.MethodPut, srv.URL, body))(t)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("payload")), nil }
	req.Header.Set("X-A", "1")
	ctx := req.Context()
	before := *req
	resp := must(client.Transport.RoundTrip(req))(t)
	readAll(t, resp)
	if req.Body != before.Body || req.Context() != ctx || req.URL != before.URL || len(req.Header) != 1 || req.Header.Get("X-A") != "1" {
		t.Errorf("the caller's request was modified")
	}
	if !body.closed.Load() {
		t.Errorf("the request body was not closed")
	}
	if srv.requests() != 3 || srv.bodies[2] != "payload" {
		t.Errorf("server saw %d requests, last body %q", srv.requests(), srv.bodies[len(srv.bodies)-1])
	}
}

func TestBreakerPerHost(t *testing.T) {
	bad := newScripted(t, step{status: 500})
	good := newScripted(t, step{status: 200})
	client, tr := newClient(t, TransportConfig{
		Breaker: &breaker.Config{Name: "up", Window: breaker.WindowConsecutive, WindowSize: 2, WaitDuration: time.Hour},
	})
	for range 2 {
		readAll(t, must(client.Get(bad.URL))(t))
	}
	_, err := client.Get(bad.URL)
	var oe *breaker.OpenError
	if !errors.As(err, &oe) || !strings.HasPrefix(oe.Name, "up:127.0.0.1:") {
		t.Fatalf("third call to the failing host: got %v, want a *breaker.OpenError named up:<host>", err)
	}
	if bad.requests() != 2 {
		t.Errorf("failing host saw %d requests, want 2", bad.requests())
	}
	for range 3 {
		resp := must(client.Get(good.URL))(t)
		readAll(t, resp)
	}
	snap := tr.Snapshot()
	if len(snap.Hosts) != 2 {
		t.Fatalf("snapshot has %d hosts, want 2", len(snap.Hosts))
	}
	if s := snap.Hosts[strings.TrimPrefix(bad.URL, "http://")].Breaker.State; s != breaker.StateOpen {
		t.Errorf("failing host's breaker is %v, want open", s)
	}
	if s := snap.Hosts[strings.TrimPrefix(good.URL, "http://")].Breaker.State; s != breaker.StateClosed {
		t.Errorf("healthy host's breaker is %v, want closed", s)
	}
}

func TestBreakerOpenClosesBodyAndIsNotRetried(t *testing.T) {
	srv := newScripted(t, step{status: 200})
	client, tr := newClient(t, TransportConfig{Retry: fastRetry(3), Breaker: &breaker.Config{}})
	readAll(t, must(client.Get(srv.URL))(t))
	tr.hosts.all()[0].breaker.ForceOpen()
	body := &trackedBody{Reader: strings.NewReader("x")}
	req := must(http.NewRequest(http.MethodPut, srv.URL, body))(t)
	_, err := client.Do(req)
	if !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("got %v, want breaker.ErrOpen", err)
	}
	if !body.closed.Load() {
		t.Errorf("body not closed on rejection")
	}
	if srv.requests() != 1 {
		t.Errorf("server saw %d requests, want 1", srv.requests())
	}
}

func TestBreakerCountsFiveHundredsNotFourHundreds(t *testing.T) {
	srv := newScripted(t, step{status: 404}, step{status: 404}, step{status: 404}, step{status: 502})
	client, tr := newClient(t, TransportConfig{Breaker: &breaker.Config{Window: breaker.WindowCount, WindowSize: 10, MinimumCalls: 4}})
	for range 4 {
		readAll(t, must(client.Get(srv.URL))(t))
	}
	s := tr.hosts.all()[0].breaker.Snapshot()
	if s.Calls != 4 || s.Failures != 1 {
		t.Errorf("breaker saw %d calls, %d failures; want 4 calls, 1 failure", s.Calls, s.Failures)
	}
}

func TestRateLimitPerHost(t *testing.T) {
	srv := newScripted(t, step{status: 200})
	lim := must(ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Rate: 0.001, Burst: 1}}))(t)
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3), RateLimit: lim})
	readAll(t, must(client.Get(srv.URL))(t))
	body := &trackedBody{Reader: strings.NewReader("x")}
	req := must(http.NewRequest(http.MethodPut, srv.URL, body))(t)
	_, err := client.Do(req)
	if !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("got %v, want ratelimit.ErrLimited", err)
	}
	if !body.closed.Load() || srv.requests() != 1 {
		t.Errorf("body closed %v, server saw %d requests; want closed, 1", body.closed.Load(), srv.requests())
	}
}

func TestCallerCancelsMidCall(t *testing.T) {
	entered := make(chan struct{})
	srv := newScriptedHandler(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	client, tr := newClient(t, TransportConfig{Retry: fastRetry(3), Breaker: &breaker.Config{}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	req := must(http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil))(t)
	_, err := client.Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	s := tr.hosts.all()[0].breaker.Snapshot()
	if s.Calls != 0 || s.Ignored != 1 {
		t.Errorf("breaker counted %d calls and ignored %d; the caller's cancellation must be ignored", s.Calls, s.Ignored)
	}
}

func TestCallerCancelsDuringBackoff(t *testing.T) {
	srv := newScripted(t, step{status: 503}, step{status: 200})
	rc := &retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Interval: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	rc.OnRetry = func(context.Context, retry.Event) { cancel() }
	client, _ := newClient(t, TransportConfig{Retry: rc})
	req := must(http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil))(t)
	_, err := client.Do(req)
	if !errors.Is(err, context.Canceled) || srv.requests() != 1 {
		t.Errorf("got %v after %d requests, want context.Canceled after 1", err, srv.requests())
	}
	if srv.conns.Load() != 1 {
		t.Errorf("%d connections", srv.conns.Load())
	}
}

func TestAttemptTimeoutRetried(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var n atomic.Int32
	srv := newScriptedHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		io.WriteString(w, "second")
	})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3), AttemptTimeout: 20 * time.Millisecond})
	resp := must(client.Get(srv.URL))(t)
	if got := readAll(t, resp); got != "second" {
		t.Errorf("got %q, want %q", got, "second")
	}
}

func TestAttemptTimeoutWithoutRetry(t *testing.T) {
	srv := newScriptedHandler(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	client, _ := newClient(t, TransportConfig{AttemptTimeout: 10 * time.Millisecond})
	_, err := client.Get(srv.URL)
	var ee *timeout.ExceededError
	if !errors.As(err, &ee) || !errors.Is(err, timeout.ErrTimeout) || ee.Duration != 10*time.Millisecond {
		t.Errorf("got %v, want a *timeout.ExceededError of 10ms", err)
	}
}

func TestNewTransportErrors(t *testing.T) {
	tests := []struct {
		name string
		c    TransportConfig
		want string
	}{
		{"MaxHosts", TransportConfig{MaxHosts: -1}, "MaxHosts"},
		{"AttemptTimeout", TransportConfig{AttemptTimeout: -1}, "AttemptTimeout"},
		{"IsRetryableResult", TransportConfig{Retry: &retry.Config{IsRetryableResult: func(any) bool { return false }}}, "IsRetryableResult"},
		{"Retry.AttemptTimeout", TransportConfig{Retry: &retry.Config{AttemptTimeout: time.Second}}, "Retry.AttemptTimeout"},
		{"Retry.MaxAttempts", TransportConfig{Retry: &retry.Config{MaxAttempts: -2}}, "MaxAttempts"}, // -1 is retry.Unlimited
		{"Breaker", TransportConfig{Breaker: &breaker.Config{FailureRateThreshold: 2}}, "FailureRateThreshold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTransport(tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestCanRetry(t *testing.T) {
	get := must(http.NewRequest(http.MethodGet, "http://x", nil))(t)
	post := must(http.NewRequest(http.MethodPost, "http://x", bytes.NewReader([]byte("a"))))(t)
	if !CanRetry(get) || CanRetry(post) {
		t.Errorf("CanRetry(GET) = %v, CanRetry(POST) = %v", CanRetry(get), CanRetry(post))
	}
}

// newScriptedHandler serves h on loopback for the test.
func newScriptedHandler(t *testing.T, h http.HandlerFunc) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = upstreamtest.Counting(t, h, &s.conns)
	return s
}
