package sidecar

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseConfig checks that ParseConfig never panics, that every error it
// returns is a ConfigErrors naming what is wrong, and that every config it
// accepts builds: validation promises the policies can be made.
func FuzzParseConfig(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("..", "examples", "sidecar", "bulwark.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte(route0))
	f.Add([]byte(route0 + "    breaker: {failure_rate: 1.5}\n"))
	f.Add([]byte(route0 + "    retry: {max_attempts: 2, backoff: constant, initial_backoff: 0s}\n"))
	f.Add([]byte(route0 + "    rate_limit: {rate: 0.001, per_client: true}\n    bulkhead: {max_concurrent: 1}\n"))
	f.Add([]byte("routes:\n  - &r {name: a, prefix: /, upstream: 'http://h'}\n  - *r\n"))
	f.Add([]byte("routes: [{name: a, prefix: /, upstream: 'https://h:1/p', chaos: {latency_rate: 1, latency: 1ns}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			var errs ConfigErrors
			if !errors.As(err, &errs) || len(errs) == 0 || !errors.Is(err, ErrConfig) {
				t.Fatalf("error %q (%T) is not a non-empty ConfigErrors", err, err)
			}
			for _, e := range errs {
				if e.Msg == "" {
					t.Fatalf("empty message in %q", err)
				}
			}
			return
		}
		s, err := New(c, Options{})
		if err != nil {
			t.Fatalf("a config that parsed does not build: %v\n%s", err, data)
		}
		s.Close()
	})
}
