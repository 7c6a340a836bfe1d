package prommetrics

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark/internal/catalog"
)

// ErrWatched is returned, wrapped, by [Metrics.Watch] for a policy whose
// policy kind and name are already watched: the two would report the same
// series.
var ErrWatched = errors.New("prommetrics: already watched")

// Watch adds gauges for each policy, read from its Snapshot when the
// registry is scraped, and creates its counters at zero so that they are
// exported before the first event.
//
// A policy is one of bulwark's: *breaker.Breaker, *bulkhead.Bulkhead, *adaptive.Limiter,
// *ratelimit.Limiter, *ratelimit.Keyed, *retry.Retry, *timeout.Timeout,
// *fallback.Fallback, *hedge.Hedger, *chaos.Injector or *recovery.Recovery.
// Watch fails, and watches none of policies, if one is of another type or if
// a policy of the same kind and name is already watched.
func (m *Metrics) Watch(policies ...any) error {
	srcs, err := catalog.OfAll(policies)
	if err != nil {
		return fmt.Errorf("prommetrics: Watch: %w", err)
	}
	if err := m.watched.add(srcs); err != nil {
		return err
	}
	for _, src := range srcs {
		m.series(src.Kind.Policy, src.Name)
	}
	return nil
}

// kindDescs describe the metrics read from one kind of policy.
type kindDescs struct {
	state   *prometheus.Desc // nil if the kind has no states
	figures []*prometheus.Desc
	types   []prometheus.ValueType
}

var snapshotDescs = func() map[*catalog.Kind]kindDescs {
	out := map[*catalog.Kind]kindDescs{}
	for _, k := range catalog.Kinds {
		var d kindDescs
		if k.States != nil {
			d.state = prometheus.NewDesc(k.StatePromName(),
				"1 for the state the "+k.Policy+" is in, 0 for the others.", []string{"name", "state"}, nil)
		}
		for _, f := range k.Figures {
			typ := prometheus.GaugeValue
			if f.Counter {
				typ = prometheus.CounterValue
			}
			labels := []string{"name"}
			if f.Label != "" {
				labels = append(labels, f.Label)
			}
			d.figures = append(d.figures, prometheus.NewDesc(k.PromName(f), f.Help, labels, nil))
			d.types = append(d.types, typ)
		}
		out[k] = d
	}
	return out
}()

func describeSnapshots(ch chan<- *prometheus.Desc) {
	for _, k := range catalog.Kinds {
		d := snapshotDescs[k]
		if d.state != nil {
			ch <- d.state
		}
		for _, f := range d.figures {
			ch <- f
		}
	}
}

type watchSet struct {
	mu   sync.Mutex
	srcs []catalog.Source
}

func newWatchSet() *watchSet { return &watchSet{} }

func (w *watchSet) add(srcs []catalog.Source) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d, ok := catalog.Duplicate(w.srcs, srcs); ok {
		return fmt.Errorf("%w: %s %q", ErrWatched, d.Kind.Policy, d.Name)
	}
	w.srcs = append(w.srcs, srcs...)
	return nil
}

func (w *watchSet) collect(ch chan<- prometheus.Metric) {
	w.mu.Lock()
	srcs := w.srcs[:len(w.srcs):len(w.srcs)]
	w.mu.Unlock()
	for _, s := range srcs {
		d := snapshotDescs[s.Kind]
		values := make([]float64, s.Kind.Width())
		state := s.Read(values)
		if d.state != nil {
			for _, st := range s.Kind.States {
				v := 0.0
				if st == state {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(d.state, prometheus.GaugeValue, v, s.Name, st)
			}
		}
		i := 0
		for j, f := range s.Kind.Figures {
			if f.Label == "" {
				if !math.IsNaN(values[i]) { // NaN: does not apply to this policy
					ch <- prometheus.MustNewConstMetric(d.figures[j], d.types[j], values[i], s.Name)
				}
				i++
				continue
			}
			for _, lv := range f.Values {
				if !math.IsNaN(values[i]) {
					ch <- prometheus.MustNewConstMetric(d.figures[j], d.types[j], values[i], s.Name, lv)
				}
				i++
			}
		}
	}
}
