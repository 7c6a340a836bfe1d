package sidecar

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/prommetrics"
)

// metricsSet is one generation's Prometheus registry: the policies'
// observer and the /metrics handler.
type metricsSet struct {
	observer bulwark.Observer
	handler  http.Handler
}

// newMetricsSet makes a registry for the routes of one generation: the
// policies' event counters and snapshot gauges (prommetrics), the sidecar's
// requests by route and outcome, and the Go runtime and process collectors.
// It returns nil, and logs, if the registry cannot be made.
func newMetricsSet(routes []*route, log *slog.Logger) *metricsSet {
	reg := prometheus.NewRegistry()
	m, err := prommetrics.New(prommetrics.Config{Registerer: reg})
	if err != nil {
		log.Error("metrics: not available", "err", err)
		return nil
	}
	for _, r := range routes {
		for _, p := range r.policyList() {
			if err := m.Watch(p); err != nil {
				log.Debug("metrics: policy not watched", "route", r.cfg.Name, "err", err)
			}
		}
	}
	if err := reg.Register(routeCollector(routes)); err != nil {
		log.Error("metrics: route requests not exported", "err", err)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &metricsSet{observer: m, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
}

var (
	requestsDesc = prometheus.NewDesc("bulwark_sidecar_requests_total",
		"Requests the sidecar answered, by route and outcome (ok, upstream_error, breaker_open, rate_limited, shed, timeout, bad_gateway, injected, client_gone, bad_request, body_timeout).",
		[]string{"route", "outcome"}, nil)
	retriedDesc = prometheus.NewDesc("bulwark_sidecar_retried_requests_total",
		"Requests that took more than one attempt, by route.", []string{"route"}, nil)
	durationDesc = prometheus.NewDesc("bulwark_sidecar_request_duration_seconds",
		"Time the sidecar took to answer a request, from routing to the end of the answer, by route.", []string{"route"}, nil)
	upstreamDesc = prometheus.NewDesc("bulwark_sidecar_upstream_duration_seconds",
		"Time an attempt took to get the upstream's response headers (or fail), by route; injected faults excluded.", []string{"route"}, nil)
)

// promLatencyEvery exports one latency bucket bound of latencyHist in
// this many (one per doubling), from 1 ms up.
const promLatencyEvery = latencySub

// constHistogram exports a latency histogram with a bound per doubling.
func constHistogram(d *prometheus.Desc, c latencyCounts, route string) prometheus.Metric {
	buckets := map[float64]uint64{}
	var cum uint64
	for i, n := range c.n {
		cum += n
		if up := latencyUpper(i); up >= 0.001 && (i+1)%promLatencyEvery == 0 {
			buckets[up] = cum
		}
	}
	return prometheus.MustNewConstHistogram(d, c.count, float64(c.sumUS)/1e6, buckets, route)
}

// routeCollector exports the routes' request counts, kept by route name
// since the sidecar started.
type routeCollector []*route

func (c routeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- retriedDesc
	ch <- durationDesc
	ch <- upstreamDesc
}

func (c routeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c {
		for o := range numOutcomes {
			ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(r.stats.outcomes[o].Load()), r.cfg.Name, o.String())
		}
		ch <- prometheus.MustNewConstMetric(retriedDesc, prometheus.CounterValue, float64(r.stats.retried.Load()), r.cfg.Name)
		ch <- constHistogram(durationDesc, r.stats.latency.load(), r.cfg.Name)
		ch <- constHistogram(upstreamDesc, r.stats.upstream.load(), r.cfg.Name)
	}
}
