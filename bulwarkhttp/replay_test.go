package bulwarkhttp

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/internal/upstreamtest"
	"github.com/bulwark-go/bulwark/retry"
)

// TestResetStormSendsAtMostMaxAttempts: with warm keep-alive connections
// to an upstream that resets each of them, one request reaches the
// upstream at most MaxAttempts times, whatever the base transport keeps
// idle (net/http would resend a replayable request on the next idle
// connection after each reset), and the breaker counts every send.
func TestResetStormSendsAtMostMaxAttempts(t *testing.T) {
	const maxAttempts = 3
	requests := []struct {
		name   string
		method string
		body   string
		key    string
	}{
		{"GET", http.MethodGet, "", ""},
		{"POST with Idempotency-Key", http.MethodPost, "", "k-1"},
		{"PUT with body", http.MethodPut, "payload", ""},
		{"POST with X-Idempotency-Key and body", http.MethodPost, "payload", ""},
	}
	for _, idle := range []int{2, 64} {
		for _, rq := range requests {
			t.Run(fmt.Sprintf("%s/idle=%d", rq.name, idle), func(t *testing.T) {
				storm := upstreamtest.NewStorm(t)
				base := &http.Transport{MaxIdleConnsPerHost: idle, MaxIdleConns: 1000}
				t.Cleanup(base.CloseIdleConnections)
				tr, err := NewTransport(TransportConfig{
					Base:    base,
					Retry:   &retry.Config{MaxAttempts: maxAttempts, Backoff: retry.Constant{}},
					Breaker: &breaker.Config{Window: breaker.WindowCount, WindowSize: 1000, MinimumCalls: 1000},
				})
				if err != nil {
					t.Fatal(err)
				}
				client := &http.Client{Transport: tr}
				storm.Warm(t, client, storm.URL, 64)
				storm.Reset()

				var body *strings.Reader
				if rq.body != "" {
					body = strings.NewReader(rq.body)
				}
				var req *http.Request
				if body != nil {
					req = must(http.NewRequest(rq.method, storm.URL, body))(t)
				} else {
					req = must(http.NewRequest(rq.method, storm.URL, nil))(t)
				}
				if rq.key != "" {
					req.Header.Set(IdempotencyKey, rq.key)
				}
				if strings.Contains(rq.name, "X-Idempotency-Key") {
					req.Header.Set("X-Idempotency-Key", "k-2")
				}
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got %d from an upstream that resets every connection", resp.StatusCode)
				}
				got := storm.Resets()
				if got > maxAttempts || got < 1 {
					t.Errorf("the upstream read %d requests for one client request, want 1..%d", got, maxAttempts)
				}
				st := tr.Snapshot()
				var calls int
				for _, h := range st.Hosts {
					calls += h.Breaker.Calls - 64 // the 64 warming requests
				}
				if int64(calls) != got {
					t.Errorf("the breaker counted %d calls, the upstream read %d requests", calls, got)
				}
			})
		}
	}
}

// TestSealedRequestOnTheWire: the empty body that stops net/http's hidden
// replays does not reach the upstream, over HTTP/1.1 and HTTP/2.
func TestSealedRequestOnTheWire(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
			t.Run(fmt.Sprintf("%s/h2=%v", method, h2), func(t *testing.T) {
				type seen struct {
					cl    int64
					te    []string
					body  string
					proto int
				}
				got := make(chan seen, 1)
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					got <- seen{r.ContentLength, r.TransferEncoding, string(b), r.ProtoMajor}
				}))
				srv.EnableHTTP2 = h2
				if h2 {
					srv.StartTLS()
				} else {
					srv.Start()
				}
				t.Cleanup(srv.Close)
				base := srv.Client().Transport.(*http.Transport)
				client, _ := newClient(t, TransportConfig{Base: base, Retry: fastRetry(2)})
				resp := must(client.Do(must(http.NewRequest(method, srv.URL, nil))(t)))(t)
				readAll(t, resp)
				s := <-got
				wantProto := 1
				if h2 {
					wantProto = 2
				}
				if s.proto != wantProto || len(s.te) != 0 || s.body != "" || (s.cl != 0 && !(h2 && s.cl == -1)) {
					t.Errorf("upstream saw HTTP/%d, ContentLength %d, TransferEncoding %q, body %q; want HTTP/%d, no body", s.proto, s.cl, s.te, s.body, wantProto)
				}
			})
		}
	}
}
