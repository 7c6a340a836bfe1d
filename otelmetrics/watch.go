package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwark-go/bulwark/internal/catalog"
)

// ErrWatched is returned, wrapped, by [Metrics.Watch] for a policy whose
// kind and name are already watched: the two would report the same series.
var ErrWatched = errors.New("otelmetrics: already watched")

// Watch adds instruments observed from each policy's Snapshot at collection
// time, and creates its series, so that they are reported before the first
// event.
//
// A policy is one of bulwark's: *breaker.Breaker, *bulkhead.Bulkhead, *adaptive.Limiter,
// *ratelimit.Limiter, *ratelimit.Keyed, *retry.Retry, *timeout.Timeout,
// *fallback.Fallback, *hedge.Hedger, *chaos.Injector or *recovery.Recovery.
// Watch fails, and watches none of policies, if one is of another type or if
// a policy of the same kind and name is already watched.
func (m *Metrics) Watch(policies ...any) error {
	all, err := catalog.OfAll(policies)
	if err != nil {
		return fmt.Errorf("otelmetrics: Watch: %w", err)
	}
	srcs := make([]watched, 0, len(all))
	for _, src := range all {
		srcs = append(srcs, newWatched(src))
	}
	if err := m.watched.add(srcs); err != nil {
		return err
	}
	for _, w := range srcs {
		m.series(w.src.Kind.Policy, w.src.Name)
	}
	return nil
}

// kindInstruments are the observable instruments of one kind of policy.
type kindInstruments struct {
	state   metric.Int64ObservableGauge // nil if the kind has no states
	figures []metric.Observable         // Int64ObservableCounter or Float64ObservableGauge
}

// watched is one watched policy with its attributes resolved.
type watched struct {
	src    catalog.Source
	states []metric.ObserveOption // by state
	values []metric.ObserveOption // by value, in the order Read fills them
}

func newWatched(src catalog.Source) watched {
	w := watched{src: src}
	name := attribute.String("name", src.Name)
	for _, st := range src.Kind.States {
		w.states = append(w.states, metric.WithAttributeSet(attribute.NewSet(name, attribute.String("state", st))))
	}
	for _, f := range src.Kind.Figures {
		if f.Label == "" {
			w.values = append(w.values, metric.WithAttributeSet(attribute.NewSet(name)))
			continue
		}
		for _, v := range f.Values {
			w.values = append(w.values, metric.WithAttributeSet(attribute.NewSet(name, attribute.String(f.Label, v))))
		}
	}
	return w
}

type watchSet struct {
	kinds map[*catalog.Kind]kindInstruments
	reg   metric.Registration

	mu   sync.Mutex
	list []watched
}

func newWatchSet(meter metric.Meter) (*watchSet, error) {
	w := &watchSet{kinds: map[*catalog.Kind]kindInstruments{}}
	var all []metric.Observable
	for _, k := range catalog.Kinds {
		var ki kindInstruments
		if k.States != nil {
			g, err := meter.Int64ObservableGauge(k.StateOTelName(), metric.WithUnit("1"),
				metric.WithDescription("1 for the state the "+k.Policy+" is in, 0 for the others."))
			if err != nil {
				return nil, fmt.Errorf("otelmetrics: creating %s: %w", k.StateOTelName(), err)
			}
			ki.state = g
			all = append(all, g)
		}
		for _, f := range k.Figures {
			var (
				o   metric.Observable
				err error
			)
			if f.Counter {
				o, err = meter.Int64ObservableCounter(k.OTelName(f), metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
			} else {
				o, err = meter.Float64ObservableGauge(k.OTelName(f), metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
			}
			if err != nil {
				return nil, fmt.Errorf("otelmetrics: creating %s: %w", k.OTelName(f), err)
			}
			ki.figures = append(ki.figures, o)
			all = append(all, o)
		}
		w.kinds[k] = ki
	}
	reg, err := meter.RegisterCallback(w.observe, all...)
	if err != nil {
		return nil, fmt.Errorf("otelmetrics: registering the snapshot callback: %w", err)
	}
	w.reg = reg
	return w, nil
}

func (w *watchSet) add(srcs []watched) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	have := make([]catalog.Source, len(w.list))
	for i, e := range w.list {
		have[i] = e.src
	}
	add := make([]catalog.Source, len(srcs))
	for i, a := range srcs {
		add[i] = a.src
	}
	if d, ok := catalog.Duplicate(have, add); ok {
		return fmt.Errorf("%w: %s %q", ErrWatched, d.Kind.Policy, d.Name)
	}
	w.list = append(w.list, srcs...)
	return nil
}

func (w *watchSet) close() error { return w.reg.Unregister() }

func (w *watchSet) observe(_ context.Context, o metric.Observer) error {
	w.mu.Lock()
	list := w.list[:len(w.list):len(w.list)]
	w.mu.Unlock()
	for _, s := range list {
		k := s.src.Kind
		ki := w.kinds[k]
		values := make([]float64, k.Width())
		state := s.src.Read(values)
		for i, st := range k.States {
			v := int64(0)
			if st == state {
				v = 1
			}
			o.ObserveInt64(ki.state, v, s.states[i])
		}
		i := 0
		for j, f := range k.Figures {
			for range f.Width() {
				if math.IsNaN(values[i]) { // does not apply to this policy
					i++
					continue
				}
				switch inst := ki.figures[j].(type) {
				case metric.Int64ObservableCounter:
					o.ObserveInt64(inst, int64(values[i]), s.values[i])
				case metric.Float64ObservableGauge:
					o.ObserveFloat64(inst, values[i], s.values[i])
				}
				i++
			}
		}
	}
	return nil
}
