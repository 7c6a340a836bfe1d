package sidecar

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// canned is an upstream transport that answers 200 at once, so that the
// benchmarks measure the proxy and its policies, not a network.
type canned struct{}

func (canned) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"text/plain"}},
		Body: io.NopCloser(strings.NewReader("ok")), ContentLength: 2, Request: r,
	}, nil
}

func benchProxy(b *testing.B, route string) {
	cfg, err := ParseConfig([]byte("routes:\n  - {name: api, prefix: /, upstream: 'http://127.0.0.1:1'" + route + "}\n"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(cfg, Options{Transport: canned{}})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/x", nil)
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d %v %s %+v", w.Code, w.Header(), w.Body, s.snapshot().Routes[0].RateLimit)
			}
		}
	})
}

// BenchmarkProxyBare is the reverse proxy with no policy: the baseline.
func BenchmarkProxyBare(b *testing.B) { benchProxy(b, "") }

// BenchmarkProxyAllPolicies adds a rate limit, a bulkhead, retries, a
// breaker and a timeout.
func BenchmarkProxyAllPolicies(b *testing.B) {
	benchProxy(b, ", timeout: 1s, retry: {}, breaker: {}, bulkhead: {max_concurrent: 1000}, rate_limit: {rate: 1e6, burst: 1000000}")
}
