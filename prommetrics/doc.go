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
// Counters come from events and need only the Observer; the gauges and the
// counters read from snapshots (marked W) need Watch:
//
//	breaker    bulwark_breaker_calls_total{outcome=success|failure|ignored|rejected}
//	           bulwark_breaker_slow_calls_total{outcome}
//	           bulwark_breaker_transitions_total{from,to}
//	           bulwark_breaker_state{state} (W, 1 for the current state, 0 for the others)
//	           bulwark_breaker_failure_ratio, bulwark_breaker_slow_call_ratio (W)
//	retry      bulwark_retry_retries_total, _exhausted_total, _budget_rejections_total
//	           bulwark_retry_calls_total, bulwark_retry_attempts_total (W)
//	timeout    bulwark_timeout_exceeded_total; bulwark_timeout_calls_total, _orphans (W)
//	fallback   bulwark_fallback_served_total, _failed_total; bulwark_fallback_calls_total (W)
//	bulkhead   bulwark_bulkhead_calls_total{outcome}, _rejected_total, _wait_seconds
//	           bulwark_bulkhead_capacity, _in_use, _waiting (W)
//	ratelimit  bulwark_ratelimit_rejected_total, bulwark_ratelimit_wait_seconds
//	           bulwark_ratelimit_allowed_total, _rate, _burst, _tokens, _keys (W)
//	adaptive   bulwark_adaptive_calls_total{outcome}, _shed_total, _wait_seconds
//	           bulwark_adaptive_limit, _in_flight, _queued, _rtt_seconds (W)
//	hedge      bulwark_hedge_started_total, _won_total, _budget_rejections_total
//	           bulwark_hedge_calls_total, bulwark_hedge_delay_seconds (W)
//	chaos      bulwark_chaos_enabled, _calls_total, _injected_total{fault} (W only)
//	recovery   bulwark_recovery_panics_total
//	lockorder  bulwark_lockorder_inversions_total, _long_waits_total
//	pipeline   bulwark_pipeline_duration_seconds{outcome}
//	other      bulwark_events_total{policy,kind}: events no metric above counts
//
// The full table, with each metric's meaning, is in
// the README (part "Observability").
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
