package prommetrics

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/exporter"
)

// ErrWatched is returned, wrapped, by [Metrics.Watch] for a policy whose
// policy kind and name are already watched: the two would report the same
// series.
var ErrWatched = errors.New("prommetrics: already watched")

// Watch adds gauges for each policy, read from it ([bulwark.Watchable]'s
// Collect) when the registry is scraped, and creates its counters at zero so
// that they are exported before the first event.
//
// A policy is any [bulwark.Watchable]: every bulwark policy with live
// figures (*breaker.Breaker, *bulkhead.Bulkhead, *adaptive.Limiter,
// *ratelimit.Limiter, *ratelimit.Keyed, *retry.Retry, *timeout.Timeout,
// *fallback.Fallback, *hedge.Hedger, *chaos.Injector, *recovery.Recovery),
// or a program's own. The gauges of a kind of policy are registered with
// the Registerer the first time one is watched. Watch fails, and watches
// none of policies, if one does not implement bulwark.Watchable (or its
// Description is invalid), if its gauges clash with metrics the Registerer
// holds, or if a policy of the same kind and name is already watched.
func (m *Metrics) Watch(policies ...any) error {
	srcs, err := exporter.OfAll(policies)
	if err != nil {
		return fmt.Errorf("prommetrics: Watch: %w", err)
	}
	entries := make([]exporter.Entry[*kindCollector], len(srcs))
	for i, src := range srcs {
		k, err := m.kinds.Get(src.Desc, m.newKindCollector)
		if err != nil {
			return fmt.Errorf("prommetrics: Watch: %s %q: %w", src.Desc.Policy, src.Name, err)
		}
		entries[i] = exporter.Entry[*kindCollector]{Source: src, Data: k}
	}
	if err := m.watched.Add(ErrWatched, entries); err != nil {
		return err
	}
	for _, src := range srcs {
		m.index.Get(src.Desc.Policy, src.Name)
	}
	return nil
}

// kindCollector exports the gauges of the watched policies of one kind.
type kindCollector struct {
	m       *Metrics
	desc    *bulwark.Description
	state   *prometheus.Desc // nil if the kind has no states
	figures []*prometheus.Desc
	types   []prometheus.ValueType
}

// newKindCollector makes the collector of d's kind and registers it.
func (m *Metrics) newKindCollector(d *bulwark.Description) (*kindCollector, error) {
	k := &kindCollector{m: m, desc: d}
	if d.States != nil {
		k.state = prometheus.NewDesc(exporter.StatePromName(d), exporter.StateHelp(d), []string{"name", "state"}, nil)
	}
	for _, f := range d.Figures {
		typ := prometheus.GaugeValue
		if f.Counter {
			typ = prometheus.CounterValue
		}
		labels := []string{"name"}
		if f.Label != "" {
			labels = append(labels, f.Label)
		}
		k.figures = append(k.figures, prometheus.NewDesc(exporter.PromName(d, f), f.Help, labels, nil))
		k.types = append(k.types, typ)
	}
	if k.state == nil && len(k.figures) == 0 {
		return k, nil // nothing to register (recovery)
	}
	if err := m.reg.Register(k); err != nil {
		return nil, fmt.Errorf("registering the gauges: %w", err)
	}
	return k, nil
}

func (k *kindCollector) Describe(ch chan<- *prometheus.Desc) {
	if k.state != nil {
		ch <- k.state
	}
	for _, f := range k.figures {
		ch <- f
	}
}

func (k *kindCollector) Collect(ch chan<- prometheus.Metric) {
	var buf []float64
	for _, e := range k.m.watched.List() {
		if e.Data != k {
			continue
		}
		values, state := e.Read(buf)
		buf = values
		for _, st := range k.desc.States {
			v := 0.0
			if st == state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(k.state, prometheus.GaugeValue, v, e.Name, st)
		}
		i := 0
		for j, f := range k.desc.Figures {
			if f.Label == "" {
				if !math.IsNaN(values[i]) { // NaN: does not apply to this policy
					ch <- prometheus.MustNewConstMetric(k.figures[j], k.types[j], values[i], e.Name)
				}
				i++
				continue
			}
			for _, lv := range f.Values {
				if !math.IsNaN(values[i]) {
					ch <- prometheus.MustNewConstMetric(k.figures[j], k.types[j], values[i], e.Name, lv)
				}
				i++
			}
		}
	}
}
