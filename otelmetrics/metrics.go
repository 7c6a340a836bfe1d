package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
	"github.com/bulwark-go/bulwark/internal/exporter"
)

// ScopeName is the instrumentation scope of the meter Metrics uses.
const ScopeName = "github.com/bulwark-go/bulwark/otelmetrics"

// DefaultDurationBuckets are the bucket boundaries of
// bulwark.pipeline.duration when Config.DurationBuckets is nil: 1 ms to 10 s.
var DefaultDurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// DefaultWaitBuckets are the bucket boundaries of the wait-time histograms
// when Config.WaitBuckets is nil: 100 µs to 5 s.
var DefaultWaitBuckets = []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5}

// Config configures [New]. The zero value is valid.
type Config struct {
	// MeterProvider supplies the meter. If nil, the global provider
	// (otel.GetMeterProvider()) is used.
	MeterProvider metric.MeterProvider

	// DurationBuckets are the bucket boundaries, in seconds, of
	// bulwark.pipeline.duration. They must be finite and strictly
	// increasing. If nil, DefaultDurationBuckets is used.
	DurationBuckets []float64

	// WaitBuckets are the bucket boundaries, in seconds, of
	// bulwark.ratelimit.wait and bulwark.bulkhead.wait. They must be
	// finite and strictly increasing. If nil, DefaultWaitBuckets is used.
	WaitBuckets []float64
}

// ErrConfig is returned, wrapped, by [New] for an invalid Config.
var ErrConfig = errors.New("otelmetrics: invalid config")

// Metrics turns what bulwark policies report into OpenTelemetry metrics. It
// is a [bulwark.Observer]: set it as the Observer of every policy to count
// their events. [Metrics.Watch] adds instruments observed from a policy's
// Snapshot at collection time, and [Metrics.Pipeline] times whole calls.
//
// A Metrics is safe for concurrent use.
type Metrics struct {
	meter      metric.Meter
	counters   map[*catalog.Metric]metric.Int64ObservableCounter
	histograms map[*catalog.Metric]metric.Float64Histogram
	countReg   metric.Registration
	index      *exporter.Index[*series]
	watched    exporter.Set[*watched]
	kinds      exporter.Kinds[*kindInstruments]

	cellsMu sync.Mutex              // serialises writers of cells
	cells   atomic.Pointer[[]*cell] // every counter cell, for the callback
}

// New creates bulwark's instruments on a meter of cfg.MeterProvider and
// returns the Metrics that feeds them.
func New(cfg Config) (*Metrics, error) {
	durations, err := catalog.Buckets(ErrConfig, "DurationBuckets", cfg.DurationBuckets, DefaultDurationBuckets)
	if err != nil {
		return nil, err
	}
	waits, err := catalog.Buckets(ErrConfig, "WaitBuckets", cfg.WaitBuckets, DefaultWaitBuckets)
	if err != nil {
		return nil, err
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	m := &Metrics{
		meter:      meter,
		counters:   map[*catalog.Metric]metric.Int64ObservableCounter{},
		histograms: map[*catalog.Metric]metric.Float64Histogram{},
	}
	var counters []metric.Observable
	for _, c := range catalog.EventMetrics() {
		if c.Histogram {
			b := waits
			if c == catalog.Pipeline {
				b = durations
			}
			h, err := meter.Float64Histogram(c.OTelName(), metric.WithDescription(c.Help), metric.WithUnit(c.Unit),
				metric.WithExplicitBucketBoundaries(b...))
			if err != nil {
				return nil, fmt.Errorf("otelmetrics: creating %s: %w", c.OTelName(), err)
			}
			m.histograms[c] = h
			continue
		}
		n, err := meter.Int64ObservableCounter(c.OTelName(), metric.WithDescription(c.Help), metric.WithUnit(c.Unit))
		if err != nil {
			return nil, fmt.Errorf("otelmetrics: creating %s: %w", c.OTelName(), err)
		}
		m.counters[c] = n
		counters = append(counters, n)
	}
	m.index = exporter.NewIndex(func(policy, name string) *series { return newSeries(m, policy, name) })
	m.cells.Store(new([]*cell))
	if m.countReg, err = meter.RegisterCallback(m.observeCells, counters...); err != nil {
		return nil, fmt.Errorf("otelmetrics: registering the counter callback: %w", err)
	}
	return m, nil
}

// Close unregisters the callbacks that report the counters and the watched
// policies' snapshots, so that the meter provider stops reporting them.
// Histograms (pipeline durations, waits) keep recording.
func (m *Metrics) Close() error {
	errs := []error{m.countReg.Unregister()}
	for _, k := range m.kinds.All() {
		errs = append(errs, k.close())
	}
	return errors.Join(errs...)
}

// observeCells reports every counter.
func (m *Metrics) observeCells(_ context.Context, o metric.Observer) error {
	for _, c := range *m.cells.Load() {
		o.ObserveInt64(c.inst, int64(c.n.Load()), c.opt)
	}
	return nil
}

// newCell makes a counter cell and adds it to those the callback reports.
func (m *Metrics) newCell(inst metric.Int64ObservableCounter, kv ...attribute.KeyValue) *cell {
	c := &cell{inst: inst, opt: metric.WithAttributeSet(attribute.NewSet(kv...))}
	m.cellsMu.Lock()
	defer m.cellsMu.Unlock()
	old := *m.cells.Load()
	next := append(old[:len(old):len(old)], c)
	m.cells.Store(&next)
	return c
}

// Observe counts e. It implements [bulwark.Observer].
func (m *Metrics) Observe(e bulwark.Event) { m.index.Get(e.Policy, e.Name).observe(e) }

var background = context.Background()
