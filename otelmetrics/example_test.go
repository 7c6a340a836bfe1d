package otelmetrics_test

import (
	"context"
	"errors"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/otelmetrics"
)

func Example() {
	ctx := context.Background()
	// In production the provider has a periodic reader and an exporter;
	// a ManualReader lets the example read the figures back.
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	m, err := otelmetrics.New(otelmetrics.Config{MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	br, err := breaker.New(breaker.Config{Name: "db", Observer: m})
	if err != nil {
		panic(err)
	}
	if err := m.Watch(br); err != nil { // instruments observed from br.Snapshot()
		panic(err)
	}
	_ = bulwark.Run(ctx, br, func(ctx context.Context) error { return nil })
	_ = bulwark.Run(ctx, br, func(ctx context.Context) error { return errors.New("timeout") })

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				if mt.Name == "bulwark.breaker.calls" {
					for _, p := range d.DataPoints {
						outcome, _ := p.Attributes.Value("outcome")
						if p.Value > 0 {
							fmt.Println(mt.Name, outcome.AsString(), p.Value)
						}
					}
				}
			case metricdata.Gauge[float64]:
				if mt.Name == "bulwark.breaker.failure_ratio" {
					fmt.Println(mt.Name, d.DataPoints[0].Value)
				}
			}
		}
	}
	// Unordered output:
	// bulwark.breaker.calls success 1
	// bulwark.breaker.calls failure 1
	// bulwark.breaker.failure_ratio 0.5
}
