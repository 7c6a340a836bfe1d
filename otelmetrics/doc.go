// Package otelmetrics exports what bulwark's policies do as OpenTelemetry
// metrics, on any go.opentelemetry.io/otel/metric MeterProvider.
//
// A Metrics is a [bulwark.Observer]: give it to each policy's Config, and
// call Watch with the policy to add instruments observed from its Snapshot
// at collection time:
//
//	m, err := otelmetrics.New(otelmetrics.Config{MeterProvider: provider})
//	br, err := breaker.New(breaker.Config{Name: "db", Observer: m})
//	err = m.Watch(br) // bulwark.breaker.state, .failure_ratio, ... at collection time
//
// Pipeline wraps a policy (usually a [bulwark.Chain]) to time whole calls in
// the histogram bulwark.pipeline.duration.
//
// The package is named otelmetrics, not otel, so that it can be imported
// next to go.opentelemetry.io/otel without an alias. No core bulwark package
// imports it.
//
// # Instruments
//
// The instruments are those of the prommetrics package under OpenTelemetry
// names: bulwark.<policy>.<what> with the unit given apart ("s",
// "{call}") and no _total suffix. bulwark_breaker_calls_total is the counter
// bulwark.breaker.calls, bulwark_pipeline_duration_seconds the histogram
// bulwark.pipeline.duration in s. Each measurement has the attribute name
// (the policy's name) and the same fixed attributes as the Prometheus
// labels: outcome, state, from, to, fault, kind. The rule on names is the
// same: a small fixed set, never a URL or a user id. The table of every
// metric: https://github.com/bulwark-go/bulwark/blob/main/docs/metrics.md
//
// [Metrics.Close] unregisters the collection callbacks.
//
// # Cost
//
// Counters are kept in atomic cells with their attributes resolved and
// reported by a callback at collection time (as observable counters), so
// Observe allocates nothing and builds no attribute set. Histograms
// (bulwark.pipeline.duration, the wait times) record through the SDK.
package otelmetrics
