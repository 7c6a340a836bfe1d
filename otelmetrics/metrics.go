package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
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
	counters   map[*catalog.Metric]metric.Int64ObservableCounter
	histograms map[*catalog.Metric]metric.Float64Histogram
	watched    *watchSet
	countReg   metric.Registration

	createMu sync.Mutex // serialises the making of series, and writers of index
	index    atomic.Pointer[map[seriesKey]*series]
	cache    [cacheSize]atomic.Pointer[series] // see Observe
	cellsMu  sync.Mutex                        // serialises writers of cells
	cells    atomic.Pointer[[]*cell]           // every counter cell, for the callback
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
	empty := map[seriesKey]*series{}
	m.index.Store(&empty)
	m.cells.Store(new([]*cell))
	if m.countReg, err = meter.RegisterCallback(m.observeCells, counters...); err != nil {
		return nil, fmt.Errorf("otelmetrics: registering the counter callback: %w", err)
	}
	if m.watched, err = newWatchSet(meter); err != nil {
		m.countReg.Unregister()
		return nil, err
	}
	return m, nil
}

// Close unregisters the callbacks that report the counters and the watched
// policies' snapshots, so that the meter provider stops reporting them.
// Histograms (pipeline durations, waits) keep recording.
func (m *Metrics) Close() error { return errors.Join(m.countReg.Unregister(), m.watched.close()) }

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
func (m *Metrics) Observe(e bulwark.Event) {
	// A policy reports every event with the same Policy and Name strings,
	// so their addresses pick a cache slot; the slot's series is used only
	// if its policy and name equal the event's (string comparison
	// short-cuts on equal addresses). A miss falls back to the map.
	slot := &m.cache[cacheSlot(e.Policy, e.Name)]
	s := slot.Load()
	if s == nil || s.name != e.Name || s.policy != e.Policy {
		s = (*m.index.Load())[seriesKey{e.Policy, e.Name}]
		if s == nil {
			s = m.series(e.Policy, e.Name)
		}
		slot.Store(s)
	}
	s.observe(e)
}

// cacheSize is the number of slots of Metrics.cache, a power of two.
const cacheSize = 256

// cacheSlot hashes the addresses of a policy's kind and name strings. The
// addresses serve only as a hint: they are never dereferenced.
func cacheSlot(policy, name string) uintptr {
	const k = 0x9E3779B97F4A7C15 // 2⁶⁴/φ, Fibonacci hashing
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(policy))))
	n := uint64(uintptr(unsafe.Pointer(unsafe.StringData(name))))
	return uintptr(((n ^ p*k) * k) >> (64 - 8))
}

// series returns the series of (policy, name), making them if need be.
func (m *Metrics) series(policy, name string) *series {
	m.createMu.Lock()
	defer m.createMu.Unlock()
	old := *m.index.Load()
	k := seriesKey{policy, name}
	if s := old[k]; s != nil {
		return s
	}
	s := newSeries(m, policy, name)
	next := make(map[seriesKey]*series, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = s
	m.index.Store(&next)
	return s
}

var background = context.Background()
