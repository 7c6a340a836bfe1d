package sidecar_test

import (
	"fmt"

	"github.com/bulwark-go/bulwark/sidecar"
)

func ExampleParseConfig() {
	cfg, err := sidecar.ParseConfig([]byte(`
routes:
  - name: orders
    prefix: /api/orders/
    upstream: http://127.0.0.1:9001
    timeout: 800ms
    retry: {max_attempts: 2}
    breaker: {failure_rate: 0.5, wait: 10s}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := cfg.Routes[0]
	fmt.Println("proxy on", cfg.Listen, "admin on", cfg.Admin.Listen)
	fmt.Println(r.Name, r.Prefix, "->", r.Upstream, "timeout", r.Timeout)
	fmt.Println("retry", r.Retry.MaxAttempts, "attempts for", r.Retry.Methods, "failure statuses", r.FailureStatuses)
	fmt.Println("breaker opens at", r.Breaker.FailureRate, "for", r.Breaker.Wait)
	// Output:
	// proxy on 127.0.0.1:8080 admin on 127.0.0.1:9901
	// orders /api/orders/ -> http://127.0.0.1:9001 timeout 800ms
	// retry 2 attempts for [GET HEAD OPTIONS] failure statuses [500 502 503 504]
	// breaker opens at 0.5 for 10s
}

func ExampleParseConfig_errors() {
	_, err := sidecar.ParseConfig([]byte(`
routes:
  - name: orders
    prefix: /api/orders/
    upstream: http://127.0.0.1:9001
    retry: {methods: [GET, POST]}
    breaker:
      failure_rate: 1.5
`))
	fmt.Println(err)
	// Output:
	// routes[0].retry.methods[1]: "POST" is not an idempotent method: only GET, HEAD, OPTIONS, TRACE, PUT and DELETE may be retried (line 6)
	// routes[0].breaker.failure_rate: must be in (0,1], got 1.5 (line 8)
}
