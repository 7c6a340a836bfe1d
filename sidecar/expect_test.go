package sidecar

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that sends Expect: 100-continue to a route that refuses it
// (breaker open, rate limit, bulkhead full) gets the refusal first, with
// no 100 Continue and without sending its body; so too on a route that
// retries the method and would read the body into memory before the
// first attempt.
func TestExpectContinueRefusedWithoutContinue(t *testing.T) {
	up, arrived, release := holdingUpstream(t)
	f := newFixture(t, `routes:
  - {name: open, prefix: /open, upstream: '%[1]s', breaker: {window: consecutive, window_size: 1, wait: 1m}}
  - {name: retried, prefix: /retried, upstream: '%[1]s', retry: {methods: [GET, PUT]}, breaker: {window: consecutive, window_size: 1, wait: 1m}}
  - {name: limited, prefix: /limited, upstream: '%[1]s', rate_limit: {rate: 0.001, burst: 1}}
  - {name: shed, prefix: /shed, upstream: '%[1]s', bulkhead: {max_concurrent: 1}}
`, up)
	must(f.s.Breaker("open"))(t).ForceOpen()
	must(f.s.Breaker("retried"))(t).ForceOpen()
	if got := f.get(t, "/limited/first"); got.code != 200 {
		t.Fatalf("the limited route's first request: %d", got.code)
	}
	held := make(chan struct{})
	go func() {
		defer close(held)
		if resp, err := f.client.Get(f.proxy.URL + "/shed/hold"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	defer func() { close(release); <-held }()
	select {
	case <-arrived: // the bulkhead's slot is taken
	case <-time.After(10 * time.Second):
		t.Fatal("the request holding the bulkhead never reached the upstream")
	}
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	for _, tc := range []struct {
		req    string
		code   int
		reason string
	}{
		{"PUT /open/x", 503, "breaker_open"},
		{"PUT /retried/x", 503, "breaker_open"},
		{"GET /retried/x", 503, "breaker_open"},
		{"PUT /limited/x", 429, "rate_limited"},
		{"PUT /shed/x", 503, "shed"},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.req+" HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") // the body waits for a 100
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Errorf("%s: no answer while the body waits for a 100: %v", tc.req, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code || resp.Header.Get(HeaderReason) != tc.reason {
			t.Errorf("%s: first answer %d %q, want %d %q without a 100 Continue", tc.req, resp.StatusCode, resp.Header.Get(HeaderReason), tc.code, tc.reason)
		}
	}
}

// An upstream that answers with 103 Early Hints while the proxy sends it
// the body of a client that asked for a 100 Continue: the 100, the 103
// and the answer reach the client whole, one after another (run under
// -race: the 100 and the forwarded 103 were written to the client's
// connection from two goroutines at once).
func TestExpectContinueWithEarlyHints(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	f := newFixture(t, "routes:\n  - {name: api, prefix: /, upstream: '%s'}\n", up)
	addr := strings.TrimPrefix(f.proxy.URL, "http://")
	for i := range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		br := bufio.NewReader(c)
		var statuses []int
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d: after %v: %v", i, statuses, err)
			}
			statuses = append(statuses, resp.StatusCode)
			if resp.StatusCode == http.StatusContinue {
				io.WriteString(c, "hello")
			}
			if resp.StatusCode >= 200 {
				b, err := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(b) != "hello" || err != nil {
					t.Errorf("request %d: answer %d %q, %v", i, resp.StatusCode, b, err)
				}
				break
			}
		}
		c.Close()
		if len(statuses) != 3 || statuses[0] != 100 {
			t.Errorf("request %d: the client got %v; want 100, 103 and 200", i, statuses)
		}
	}
}
