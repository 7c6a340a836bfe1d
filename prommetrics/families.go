package prommetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark/internal/catalog"
)

const (
	numKinds    = catalog.NumKinds
	numOutcomes = catalog.NumOutcomes
)

// families holds the vectors of one Metrics.
type families struct {
	counters   map[*catalog.Metric]*prometheus.CounterVec
	histograms map[*catalog.Metric]*prometheus.HistogramVec
	all        []prometheus.Collector
}

func newFamilies(durationBuckets, waitBuckets []float64) *families {
	f := &families{
		counters:   map[*catalog.Metric]*prometheus.CounterVec{},
		histograms: map[*catalog.Metric]*prometheus.HistogramVec{},
	}
	for _, m := range catalog.EventMetrics() {
		labels := append([]string{"name"}, m.Labels...)
		if m == catalog.Other {
			labels = append([]string{"policy"}, labels...)
		}
		if m.Histogram {
			b := waitBuckets
			if m == catalog.Pipeline {
				b = durationBuckets
			}
			v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: m.PromName(), Help: m.Help, Buckets: b}, labels)
			f.histograms[m] = v
			f.all = append(f.all, v)
			continue
		}
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.PromName(), Help: m.Help}, labels)
		f.counters[m] = v
		f.all = append(f.all, v)
	}
	return f
}
