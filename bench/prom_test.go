package bench

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/prommetrics"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkBreakerClosedPrometheus: the breaker's closed success path with
// prommetrics attached as its Observer ("bulwark"), next to the same breaker
// without an observer ("no-observer"). The budget is the difference.
func BenchmarkBreakerClosedPrometheus(b *testing.B) {
	for _, c := range []struct {
		name string
		prom bool
	}{{"bulwark", true}, {"no-observer", false}} {
		b.Run(c.name, func(b *testing.B) {
			var cfg breaker.Config
			if c.prom {
				m, err := prommetrics.New(prommetrics.Config{Registerer: prometheus.NewRegistry()})
				if err != nil {
					b.Fatal(err)
				}
				cfg.Observer = m
			}
			br := newBreaker(b, cfg)
			ctx := context.Background()
			bulwark.Get(ctx, br, opInt) // the first event creates the series
			b.ReportAllocs()
			for b.Loop() {
				v, err := bulwark.Get(ctx, br, opInt)
				if err != nil {
					b.Fatal(err)
				}
				sinkInt = v
			}
		})
	}
}
