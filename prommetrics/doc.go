// Package prommetrics exports what bulwark's policies do as Prometheus
// metrics.
//
// A Metrics is a [bulwark.Observer]: give it to each policy's Config, and
// call Watch with the policy to add gauges read from its Snapshot when the
// registry is scraped:
//
//	m, err := prommetrics.New(prommetrics.Config{Registerer: reg})
//	br, err := breaker.New(breaker.Config{Name: "db", Observer: m})
//	err = m.Watch(br) // bulwark_breaker_state, _failure_ratio, ... at scrape time
//
// Pipeline wraps a policy (usually a [bulwark.Chain]) to time whole calls in
// bulwark_pipeline_duration_seconds.
//
// The package is named prommetrics, not prometheus, so that it can be
// imported next to github.com/prometheus/client_golang/prometheus without
// an alias. No core bulwark package imports it.
//
// # Metrics
//
// Every metric is named bulwark_<policy>_<what>, in base units (seconds),
// with _total on counters, and labelled with the policy's configured name.
// Counters come from events and need only the Observer; the gauges, and
// the counters only a policy itself knows, need Watch. The table of every
// metric, with its labels and meaning, is generated from what this package
// registers (a test fails when it is stale):
// https://github.com/bulwark-go/bulwark/blob/main/docs/metrics.md
//
// # Labels
//
// The labels are the policy's name and a few fixed values (outcome, state,
// from, to, fault, kind). A policy's name must come from a small fixed set
// chosen in code, one per dependency or operation: never a URL, a user id, a
// tenant or any other value that grows with traffic, which would make a new
// series per value and exhaust Prometheus's memory.
//
// # Cost
//
// Observe finds the policy's counters, resolved when the policy first
// reports or is watched, through a cache hinted by the addresses of the
// event's Policy and Name strings (and checked by comparing them), then
// adds one atomically: it allocates nothing and hashes no labels. Label
// lookups happen once per policy and on the rare state change.
package prommetrics
