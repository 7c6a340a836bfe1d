package bulwarkhttp

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/health"
	"github.com/bulwark-go/bulwark/retry"
)

// A host's breaker forgotten to make room and made again is followed by
// the health check: when the new one opens, the service is not ready.
func TestWatchersFollowRemadeBreakers(t *testing.T) {
	a := newScripted(t, step{status: 500})
	b := newScripted(t, step{status: 200})
	h := health.New()
	ready := func() int {
		rec := httptest.NewRecorder()
		h.Ready().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	client, tr := newClient(t, TransportConfig{
		Breaker:  &breaker.Config{Name: "up", Window: breaker.WindowConsecutive, WindowSize: 1, WaitDuration: time.Hour},
		MaxHosts: 1,
		Watchers: []Watcher{h.Critical()},
	})
	get := func(url string) {
		t.Helper()
		resp, err := client.Get(url)
		if err == nil {
			readAll(t, resp)
		}
	}
	get(a.URL) // made, watched, opened
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Fatalf("a's breaker open: /readyz %d, want 503", code)
	}
	get(b.URL) // a forgotten, b made
	if code := ready(); code != http.StatusOK {
		t.Errorf("a's breaker forgotten: /readyz %d, want 200", code)
	}
	get(a.URL) // a made again, watched, opened
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("a's re-made breaker open: /readyz %d, want 503", code)
	}
	if n := len(tr.hosts.all()); n != 1 || a.requests() != 2 {
		t.Errorf("%d hosts kept, %d requests to a; want 1 and 2", n, a.requests())
	}
}

// Retry.MaxRetryAfter caps the wait of a Retry-After that is retried;
// MaxPushback says which are not retried at all.
func TestMaxPushbackAndMaxRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxPushback time.Duration
		status      int
		requests    int
	}{
		{"longer than MaxPushback", 0, 503, 1}, // default 30 s < 120 s
		{"within MaxPushback, wait capped", 5 * time.Minute, 200, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, step{status: 503, retryAfter: "120"}, step{status: 200})
			rc := &retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}, MaxRetryAfter: time.Millisecond}
			client, _ := newClient(t, TransportConfig{Retry: rc, MaxPushback: tc.maxPushback})
			resp := must(client.Get(srv.URL))(t)
			readAll(t, resp)
			if resp.StatusCode != tc.status || srv.requests() != tc.requests {
				t.Errorf("got %d after %d requests, want %d after %d", resp.StatusCode, srv.requests(), tc.status, tc.requests)
			}
		})
	}
}
