package sidecar

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Defect 7: the proxy, not the client, says who the client is.
func TestForwardedHeaders(t *testing.T) {
	var mu sync.Mutex
	var xff, xri string
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		xff, xri = r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Real-IP")
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	seen := func() (string, string) { mu.Lock(); defer mu.Unlock(); return xff, xri }

	// Untrusted client: both headers are the proxy's word.
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", up)
	f.get(t, "/", "X-Forwarded-For", "203.0.113.9", "X-Real-IP", "203.0.113.9")
	if gotXFF, gotXRI := seen(); gotXFF != "127.0.0.1" || gotXRI != "127.0.0.1" {
		t.Errorf("untrusted client: X-Forwarded-For %q, X-Real-IP %q; want both 127.0.0.1", gotXFF, gotXRI)
	}

	// Behind a trusted proxy (loopback here): appended, and the client is
	// the rightmost untrusted entry.
	f = newFixture(t, "trusted_proxies: [127.0.0.1]\nroutes:\n  - {name: api, prefix: /, upstream: '%s'}\n", up)
	f.get(t, "/", "X-Forwarded-For", "198.51.100.7, 203.0.113.9", "X-Real-IP", "192.0.2.1")
	if gotXFF, gotXRI := seen(); gotXFF != "198.51.100.7, 203.0.113.9, 127.0.0.1" || gotXRI != "203.0.113.9" {
		t.Errorf("trusted proxy: X-Forwarded-For %q, X-Real-IP %q; want the list appended and 203.0.113.9", gotXFF, gotXRI)
	}
}

// Defect 7: per-client keys have a fixed size, and client_header is
// believed only from trusted proxies when they are listed.
func TestClientKeys(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', rate_limit: {rate: 0.001, burst: 1, per_client: true, client_header: X-Client}}\n", up)
	r := f.s.gen.Load().routes[0]
	req := httptestRequest("10.0.0.1:1234", "X-Client", strings.Repeat("k", 512<<10))
	if k := r.clientKey(req); len(k) > 16 {
		t.Errorf("a 512 KiB header gives a key of %d bytes", len(k))
	}
	if a, b := r.clientKey(httptestRequest("10.0.0.1:1", "X-Client", "a")), r.clientKey(httptestRequest("10.0.0.1:1", "X-Client", "b")); a == b {
		t.Errorf("two clients share the key %q", a)
	}

	f = newFixture(t, "trusted_proxies: [10.0.0.0/8]\nroutes:\n  - {name: api, prefix: /, upstream: '%s', rate_limit: {rate: 0.001, burst: 1, per_client: true, client_header: X-Client}}\n", up)
	r = f.s.gen.Load().routes[0]
	if a, b := r.clientKey(httptestRequest("192.0.2.1:1", "X-Client", "a")), r.clientKey(httptestRequest("192.0.2.1:1", "X-Client", "b")); a != b {
		t.Errorf("an untrusted client changed its key with the header: %q, %q", a, b)
	}
	if a, b := r.clientKey(httptestRequest("10.1.1.1:1", "X-Client", "a")), r.clientKey(httptestRequest("10.1.1.1:1", "X-Client", "b")); a == b {
		t.Errorf("a trusted proxy's client header is ignored: %q", a)
	}
	// Through the proxy: rotating the header does not reset an untrusted
	// client's limit.
	if got := f.get(t, "/", "X-Client", "one"); got.code != 200 {
		t.Fatalf("first request: %d", got.code)
	}
	if got := f.get(t, "/", "X-Client", "two"); got.code != http.StatusTooManyRequests {
		t.Errorf("a new header value got %d, want 429", got.code)
	}
}

func httptestRequest(remote string, header ...string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}
