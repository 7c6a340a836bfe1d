package prommetrics_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/prommetrics"
)

// printFamilies writes the families of reg whose names start with prefix, in the
// Prometheus text format, without the HELP lines.
func printFamilies(reg *prometheus.Registry, prefix string) {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		var b strings.Builder
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			panic(err)
		}
		for _, line := range strings.SplitAfter(b.String(), "\n") {
			if !strings.HasPrefix(line, "# HELP") {
				fmt.Fprint(os.Stdout, line)
			}
		}
	}
}

func Example() {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(prommetrics.Config{Registerer: reg})
	if err != nil {
		panic(err)
	}
	br, err := breaker.New(breaker.Config{Name: "db", Observer: m})
	if err != nil {
		panic(err)
	}
	if err := m.Watch(br); err != nil { // gauges read from br.Snapshot() at scrape time
		panic(err)
	}

	ctx := context.Background()
	_ = bulwark.Run(ctx, br, func(ctx context.Context) error { return nil })
	_ = bulwark.Run(ctx, br, func(ctx context.Context) error { return errors.New("timeout") })

	printFamilies(reg, "bulwark_breaker_")
	// Output:
	// # TYPE bulwark_breaker_calls_total counter
	// bulwark_breaker_calls_total{name="db",outcome="failure"} 1
	// bulwark_breaker_calls_total{name="db",outcome="ignored"} 0
	// bulwark_breaker_calls_total{name="db",outcome="rejected"} 0
	// bulwark_breaker_calls_total{name="db",outcome="success"} 1
	// # TYPE bulwark_breaker_failure_ratio gauge
	// bulwark_breaker_failure_ratio{name="db"} 0.5
	// # TYPE bulwark_breaker_slow_call_ratio gauge
	// bulwark_breaker_slow_call_ratio{name="db"} 0
	// # TYPE bulwark_breaker_slow_calls_total counter
	// bulwark_breaker_slow_calls_total{name="db",outcome="failure"} 0
	// bulwark_breaker_slow_calls_total{name="db",outcome="ignored"} 0
	// bulwark_breaker_slow_calls_total{name="db",outcome="success"} 0
	// # TYPE bulwark_breaker_state gauge
	// bulwark_breaker_state{name="db",state="closed"} 1
	// bulwark_breaker_state{name="db",state="disabled"} 0
	// bulwark_breaker_state{name="db",state="forced-closed"} 0
	// bulwark_breaker_state{name="db",state="forced-open"} 0
	// bulwark_breaker_state{name="db",state="half-open"} 0
	// bulwark_breaker_state{name="db",state="metrics-only"} 0
	// bulwark_breaker_state{name="db",state="open"} 0
}

func ExampleMetrics_Pipeline() {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(prommetrics.Config{Registerer: reg, DurationBuckets: []float64{0.1, 1}})
	if err != nil {
		panic(err)
	}
	br, err := breaker.New(breaker.Config{Name: "db", Observer: m})
	if err != nil {
		panic(err)
	}
	// Time whole calls through the chain, by outcome.
	checkout := m.Pipeline("checkout", bulwark.Chain(br))
	_ = bulwark.Run(context.Background(), checkout, func(ctx context.Context) error { return nil })

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "bulwark_pipeline_duration_seconds" {
			for _, s := range mf.GetMetric() {
				fmt.Println(s.GetLabel()[1].GetValue(), s.GetHistogram().GetSampleCount())
			}
		}
	}
	// Output:
	// failure 0
	// ignored 0
	// success 1
}
