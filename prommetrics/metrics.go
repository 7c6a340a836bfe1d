package prommetrics

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
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
	watched *watchSet

	mu    sync.Mutex // serialises writers of index
	index atomic.Pointer[map[seriesKey]*series]
	cache [cacheSize]atomic.Pointer[series] // see Observe
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
	m := &Metrics{fam: newFamilies(durations, waits), watched: newWatchSet()}
	empty := map[seriesKey]*series{}
	m.index.Store(&empty)
	if err := reg.Register(&collector{m: m}); err != nil {
		return nil, fmt.Errorf("prommetrics: registering the metrics: %w", err)
	}
	return m, nil
}

// Observe counts e. It implements [bulwark.Observer].
func (m *Metrics) Observe(e bulwark.Event) {
	// A policy reports every event with the same Policy and Name strings,
	// so their addresses pick a cache slot; the slot's series is used only
	// if its policy and name equal the event's (see same). A miss falls
	// back to the map.
	slot := &m.cache[cacheSlot(e.Policy, e.Name)]
	s := slot.Load()
	if s == nil || !same(s.name, e.Name) || !same(s.policy, e.Policy) {
		s = (*m.index.Load())[seriesKey{e.Policy, e.Name}]
		if s == nil {
			s = m.series(e.Policy, e.Name)
		}
		slot.Store(s)
	}
	s.observe(e)
}

// same reports whether a == b. Strings that share their bytes, as a
// policy's Name does from one event to the next, compare without a call.
func same(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
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
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.index.Load()
	k := seriesKey{policy, name}
	if s := old[k]; s != nil {
		return s
	}
	s := newSeries(m.fam, policy, name)
	next := make(map[seriesKey]*series, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = s
	m.index.Store(&next)
	return s
}

// collector is what New registers: every family, and the gauges of the
// watched policies.
type collector struct{ m *Metrics }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.m.fam.all {
		f.Describe(ch)
	}
	describeSnapshots(ch)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.m.fam.all {
		f.Collect(ch)
	}
	c.m.watched.collect(ch)
}
