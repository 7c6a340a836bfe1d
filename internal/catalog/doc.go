// Package catalog lists the metrics bulwark counts from policy events. The
// Prometheus and OpenTelemetry exporters both work from it, so they export
// the same counters under matching names. The gauges read from watched
// policies are described by the policies themselves ([bulwark.Watchable]).
package catalog
