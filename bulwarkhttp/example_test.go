package bulwarkhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulwarkhttp"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
)

func ExampleTransport() {
	// An upstream that is busy twice, then answers.
	var calls atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "hello")
	}))
	defer upstream.Close()

	base := &http.Transport{}
	defer base.CloseIdleConnections()
	tr, err := bulwarkhttp.NewTransport(bulwarkhttp.TransportConfig{
		Base:    base,
		Retry:   &retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Interval: time.Millisecond}},
		Breaker: &breaker.Config{Name: "upstream"},
	})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr}

	resp, err := client.Get(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", calls.Load(), "attempts")
	// Output: 200 hello after 3 attempts
}

func ExampleParseRetryAfter() {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, v := range []string{"120", "Fri, 02 Jan 2026 15:05:05 GMT", "soon"} {
		d, ok := bulwarkhttp.ParseRetryAfter(v, now)
		fmt.Println(d, ok)
	}
	// Output:
	// 2m0s true
	// 1m0s true
	// 0s false
}

func ExampleProtect() {
	perClient, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Limit: 2, Per: time.Minute, Burst: 2}})
	if err != nil {
		panic(err)
	}
	protect, err := bulwarkhttp.Protect(bulwarkhttp.ServerConfig{
		RateLimitByKey: perClient,
		Timeout:        time.Second,
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	})))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: base}

	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Printf("%d remaining=%s retry-after=%q\n", resp.StatusCode, resp.Header.Get("RateLimit-Remaining"), resp.Header.Get("Retry-After"))
	}
	// Output:
	// 200 remaining=1 retry-after=""
	// 200 remaining=0 retry-after=""
	// 429 remaining=0 retry-after="30"
}
