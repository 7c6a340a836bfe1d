package prommetrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
	"github.com/bulwark-go/bulwark/internal/exporter"
)

// DefaultDurationBuckets are the buckets of bulwark_pipeline_duration_seconds
// when Config.DurationBuckets is nil: 1 ms to 10 s.
var DefaultDurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// DefaultWaitBuckets are the buckets of the wait-time histograms when
// Config.WaitBuckets is nil: 100 µs to 5 s.
var DefaultWaitBuckets = []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5}

// Config configures [New]. The zero value is valid.
type Config struct {
	// Registerer receives the metrics. If nil, prometheus.DefaultRegisterer
	// is used.
	Registerer prometheus.Registerer

	// DurationBuckets are the upper bounds, in seconds, of the buckets of
	// bulwark_pipeline_duration_seconds. They must be finite and strictly
	// increasing. If nil, DefaultDurationBuckets is used.
	DurationBuckets []float64

	// WaitBuckets are the upper bounds, in seconds, of the buckets of
	// bulwark_ratelimit_wait_seconds and bulwark_bulkhead_wait_seconds.
	// They must be finite and strictly increasing. If nil,
	// DefaultWaitBuckets is used.
	WaitBuckets []float64
}

// ErrConfig is returned, wrapped, by [New] for an invalid Config.
var ErrConfig = errors.New("prommetrics: invalid config")

// Metrics turns what bulwark policies report into Prometheus metrics. It is
// a [bulwark.Observer]: set it as the Observer of every policy to count their
// events. [Metrics.Watch] adds gauges read from a policy's Snapshot at scrape
// time, and [Metrics.Pipeline] times whole calls.
//
// A Metrics is safe for concurrent use. Observe does not allocate once a
// policy's series exist (they are made the first time the policy reports, or
// by Watch).
type Metrics struct {
	fam     *families
	reg     prometheus.Registerer
	index   *exporter.Index[*series]
	watched exporter.Set[*kindCollector]
	kinds   exporter.Kinds[*kindCollector]
}

// New registers bulwark's metrics with cfg.Registerer and returns the
// Metrics that feeds them. It fails if the config is invalid or the
// registerer already holds metrics of the same names.
func New(cfg Config) (*Metrics, error) {
	durations, err := catalog.Buckets(ErrConfig, "DurationBuckets", cfg.DurationBuckets, DefaultDurationBuckets)
	if err != nil {
		return nil, err
	}
	waits, err := catalog.Buckets(ErrConfig, "WaitBuckets", cfg.WaitBuckets, DefaultWaitBuckets)
	if err != nil {
		return nil, err
	}
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	m := &Metrics{fam: newFamilies(durations, waits), reg: reg}
	m.index = exporter.NewIndex(func(policy, name string) *series { return newSeries(m.fam, policy, name) })
	if err := reg.Register(&collector{m: m}); err != nil {
		return nil, fmt.Errorf("prommetrics: registering the metrics: %w", err)
	}
	return m, nil
}

// Observe counts e. It implements [bulwark.Observer].
func (m *Metrics) Observe(e bulwark.Event) { m.index.Get(e.Policy, e.Name).observe(e) }

// collector is what New registers: every family counted from events. The
// gauges of watched policies are registered by kind, as Watch first meets
// each (see kindCollector).
type collector struct{ m *Metrics }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.m.fam.all {
		f.Describe(ch)
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.m.fam.all {
		f.Collect(ch)
	}
}
