package bulwarkhttp

import (
	"errors"
	"github.com/bulwark-go/bulwark/breaker"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
)

// A body without GetBody is buffered for retries up to MaxBufferedBody,
// even at the largest limit (limit+1 must not overflow).
func TestMaxBufferedBody(t *testing.T) {
	for _, limit := range []int64{7, math.MaxInt64} {
		srv := newScripted(t, step{status: 503}, step{status: 200})
		client, _ := newClient(t, TransportConfig{Retry: fastRetry(3), MaxBufferedBody: limit})
		req := must(http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("payload"))))(t)
		resp := must(client.Do(req))(t)
		readAll(t, resp)
		if resp.StatusCode != 200 || srv.requests() != 2 || srv.bodies[0] != "payload" || srv.bodies[1] != "payload" {
			t.Errorf("limit %d: status %d after %d requests, bodies %q", limit, resp.StatusCode, srv.requests(), srv.bodies)
		}
	}
	// Longer than the limit: sent once, whole.
	srv := newScripted(t, step{status: 503}, step{status: 200})
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3), MaxBufferedBody: 3})
	req := must(http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("payload"))))(t)
	resp := must(client.Do(req))(t)
	readAll(t, resp)
	if resp.StatusCode != 503 || srv.requests() != 1 || srv.bodies[0] != "payload" {
		t.Errorf("over the limit: status %d after %d requests, bodies %q", resp.StatusCode, srv.requests(), srv.bodies)
	}
}

// A body that fails to read is the caller's failure: a *RequestBodyError,
// not counted by the breaker.
func TestRequestBodyError(t *testing.T) {
	srv := newScripted(t, step{status: 200})
	for _, buffered := range []int64{0, 1 << 20} {
		client, tr := newClient(t, TransportConfig{Retry: fastRetry(3), MaxBufferedBody: buffered, Breaker: breakerConsecutive1()})
		for range 3 {
			req := must(http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(io.MultiReader(strings.NewReader("par"), errReader{}))))(t)
			_, err := client.Do(req)
			var rbe *RequestBodyError
			if !errors.As(err, &rbe) || !errors.Is(err, errTest) {
				t.Fatalf("buffered %d: got %v, want a *RequestBodyError wrapping the read error", buffered, err)
			}
		}
		for k, h := range tr.Snapshot().Hosts {
			if h.Breaker.State.String() != "closed" || h.Breaker.Failures != 0 {
				t.Errorf("buffered %d: breaker of %s: %v with %d failures", buffered, k, h.Breaker.State, h.Breaker.Failures)
			}
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errTest }

func breakerConsecutive1() *breaker.Config {
	return &breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 1}
}

// RetryRequest is the caller's code: it is asked once per request, however
// the request is buffered, retried or hedged.
func TestRetryRequestAskedOncePerRequest(t *testing.T) {
	srv := newScripted(t, step{status: 200})
	var asked int
	client, _ := newClient(t, TransportConfig{Retry: fastRetry(3), MaxBufferedBody: 1 << 10, Breaker: breakerConsecutive1(),
		RetryRequest: func(*http.Request) bool { asked++; return true }})
	req := must(http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("payload"))))(t)
	resp := must(client.Do(req))(t)
	readAll(t, resp)
	if asked != 1 {
		t.Errorf("RetryRequest asked %d times for one request (%d sends)", asked, srv.requests())
	}
}
