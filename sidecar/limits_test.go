package sidecar

import (
	"errors"
	"strings"
	"testing"
)

// Defect 8: numbers whose sums would overflow, or that are absurd, are
// refused with an error naming the key.
func TestConfigNumberCaps(t *testing.T) {
	const route = "routes:\n  - {name: api, prefix: /, upstream: 'http://127.0.0.1:1', "
	tests := []struct{ yaml, key string }{
		{route + "retry: {max_body_bytes: 9223372036854775807}}\n", "routes[0].retry.max_body_bytes"},
		{route + "retry: {max_body_bytes: 1073741825}}\n", "routes[0].retry.max_body_bytes"},
		{route + "timeout: 2562047h}\n", "routes[0].timeout"},
		{route + "request_timeout: 25h}\n", "routes[0].request_timeout"},
		{route + "client_body_timeout: -1s}\n", "routes[0].client_body_timeout"},
		{route + "retry: {max_retry_after: 100000h}}\n", "routes[0].retry.max_retry_after"},
		{route + "retry: {max_elapsed: 2562047h}}\n", "routes[0].retry.max_elapsed"},
		{route + "rate_limit: {rate: 1, per_client: true, max_clients: 9223372036854775807}}\n", "routes[0].rate_limit.max_clients"},
		{"trusted_proxies: [not-an-ip]\n" + route + "}\n", "trusted_proxies[0]"},
	}
	for _, tc := range tests {
		_, err := ParseConfig([]byte(tc.yaml))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%q: got %v, want an error naming %s", tc.yaml, err, tc.key)
		}
	}
	// The largest allowed body limit is used without overflow.
	c, err := ParseConfig([]byte(route + "retry: {max_body_bytes: 1073741824}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Routes[0].Retry.MaxBodyBytes; got != MaxBodyBytesLimit {
		t.Errorf("max_body_bytes %d", got)
	}
}
