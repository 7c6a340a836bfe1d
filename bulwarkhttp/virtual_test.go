package bulwarkhttp

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
)

// These tests run in virtual time, over in-memory connections.

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func(now time.Time) string
		want       time.Duration
	}{
		{"seconds", func(time.Time) string { return "7" }, 7 * time.Second},
		{"HTTP-date", func(now time.Time) string { return now.Add(3 * time.Second).UTC().Format(http.TimeFormat) }, 3 * time.Second},
		{"date in the past: backoff", func(now time.Time) string { return now.Add(-time.Hour).UTC().Format(http.TimeFormat) }, 250 * time.Millisecond},
		{"zero: backoff", func(time.Time) string { return "0" }, 250 * time.Millisecond},
		{"malformed: backoff", func(time.Time) string { return "soon" }, 250 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if n.Add(1) == 1 {
						w.Header().Set("Retry-After", tc.retryAfter(time.Now()))
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					io.WriteString(w, "ok")
				}))
				defer stop()
				tr := must(NewTransport(TransportConfig{Base: base,
					Retry: &retry.Config{Backoff: retry.Constant{Interval: 250 * time.Millisecond}}}))(t)
				start := time.Now()
				resp := must((&http.Client{Transport: tr}).Get("http://upstream/"))(t)
				if got := readAll(t, resp); got != "ok" {
					t.Errorf("body %q", got)
				}
				if got := time.Since(start); got != tc.want {
					t.Errorf("waited %v, want %v", got, tc.want)
				}
			})
		})
	}
}

func TestBackoffBetweenAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stamps []time.Duration
		start := time.Now()
		base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stamps = append(stamps, time.Since(start))
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer stop()
		tr := must(NewTransport(TransportConfig{Base: base,
			Retry: &retry.Config{MaxAttempts: 4, Backoff: retry.Exponential{Initial: time.Second, Multiplier: 2}}}))(t)
		resp := must((&http.Client{Transport: tr}).Get("http://upstream/"))(t)
		readAll(t, resp)
		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
		if len(stamps) != len(want) {
			t.Fatalf("attempts at %v, want %v", stamps, want)
		}
		for i := range want {
			if stamps[i] != want[i] {
				t.Errorf("attempts at %v, want %v", stamps, want)
				break
			}
		}
		if resp.StatusCode != 503 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestAttemptTimeoutKeepsBodyReadable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "head ")
			w.(http.Flusher).Flush()
			time.Sleep(time.Second) // ten times the attempt timeout
			io.WriteString(w, "tail")
		}))
		defer stop()
		tr := must(NewTransport(TransportConfig{Base: base, AttemptTimeout: 100 * time.Millisecond, Retry: fastRetry(2)}))(t)
		resp := must((&http.Client{Transport: tr}).Get("http://upstream/"))(t)
		if got := readAll(t, resp); got != "head tail" {
			t.Errorf("body %q, want %q", got, "head tail")
		}
	})
}

func TestAttemptTimeoutVirtual(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				select {
				case <-time.After(time.Hour):
				case <-r.Context().Done():
				}
				return
			}
			io.WriteString(w, "ok")
		}))
		defer stop()
		tr := must(NewTransport(TransportConfig{Base: base, AttemptTimeout: 100 * time.Millisecond, Retry: fastRetry(3)}))(t)
		start := time.Now()
		resp := must((&http.Client{Transport: tr}).Get("http://upstream/"))(t)
		readAll(t, resp)
		if got := time.Since(start); got != 100*time.Millisecond {
			t.Errorf("took %v, want 100ms", got)
		}
	})
}

func TestHedgeSlowFirstAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		var loserCancelled atomic.Bool
		base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i := n.Add(1)
			if i == 1 {
				select {
				case <-time.After(time.Hour):
					io.WriteString(w, "slow")
				case <-r.Context().Done():
					loserCancelled.Store(true)
				}
				return
			}
			io.WriteString(w, "fast "+strconv.Itoa(int(i)))
		}))
		defer stop()
		tr := must(NewTransport(TransportConfig{Base: base, Hedge: &hedge.Config{Delay: 50 * time.Millisecond, Budget: 1}}))(t)
		start := time.Now()
		resp := must((&http.Client{Transport: tr}).Get("http://upstream/"))(t)
		synctest.Wait()
		if got := readAll(t, resp); got != "fast 2" {
			t.Errorf("body %q, want %q", got, "fast 2")
		}
		if got := time.Since(start); got != 50*time.Millisecond {
			t.Errorf("took %v, want the hedge delay, 50ms", got)
		}
		synctest.Wait()
		if !loserCancelled.Load() {
			t.Errorf("the losing attempt was not cancelled")
		}
		if s := tr.Snapshot().Hosts["upstream"].Hedge; s.Hedges != 1 || s.HedgeWins != 1 {
			t.Errorf("hedge snapshot %+v", s)
		}
	})
}

func TestHedgeBothAnswerLoserDrained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i := n.Add(1)
			if i == 1 {
				time.Sleep(60 * time.Millisecond) // answers after the hedge, before the hedge answers
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "unavailable")
				return
			}
			time.Sleep(20 * time.Millisecond)
			io.WriteString(w, "second")
		}))
		defer stop()
		tr := must(NewTransport(TransportConfig{Base: base, Retry: fastRetry(2), Hedge: &hedge.Config{Delay: 50 * time.Millisecond, Budget: 1}}))(t)
		resp := must((&http.Client{Transport: tr}).Get("http://upstream/"))(t)
		if got := readAll(t, resp); resp.StatusCode != 200 || got != "second" {
			t.Errorf("got %d %q, want 200 %q: a 503 must not win while another attempt runs", resp.StatusCode, got, "second")
		}
		if n.Load() != 2 {
			t.Errorf("%d requests, want 2", n.Load())
		}
	})
}

func TestCallerDeadlineBeforeRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "later")
		}))
		defer stop()
		tr := must(NewTransport(TransportConfig{Base: base, Retry: fastRetry(3)}))(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := must(http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream/", nil))(t)
		start := time.Now()
		resp := must(tr.RoundTrip(req))(t)
		if got := readAll(t, resp); resp.StatusCode != 503 || got != "later" {
			t.Errorf("got %d %q, want the 503 itself", resp.StatusCode, got)
		}
		if time.Since(start) != 0 {
			t.Errorf("waited %v for a retry that could not happen before the deadline", time.Since(start))
		}
	})
}

func TestRateLimitWaitsItsTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base, stop := servePipe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		defer stop()
		lim := must(ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Rate: 1, Burst: 1, MaxWait: 2 * time.Second}}))(t)
		tr := must(NewTransport(TransportConfig{Base: base, RateLimit: lim}))(t)
		client := &http.Client{Transport: tr}
		start := time.Now()
		for range 3 {
			readAll(t, must(client.Get("http://upstream/"))(t))
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("three requests at 1/s took %v, want 2s", got)
		}
		other := must(client.Get("http://other/"))(t) // another host has its own limit
		readAll(t, other)
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("another host waited: %v", got)
		}
	})
}
