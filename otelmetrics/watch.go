package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/exporter"
)

// ErrWatched is returned, wrapped, by [Metrics.Watch] for a policy whose
// kind and name are already watched: the two would report the same series.
var ErrWatched = errors.New("otelmetrics: already watched")

// Watch adds instruments observed from each policy ([bulwark.Watchable]'s
// Collect) at collection time, and creates its series, so that they are
// reported before the first event.
//
// A policy is any [bulwark.Watchable]: every bulwark policy with live
// figures (*breaker.Breaker, *bulkhead.Bulkhead, *adaptive.Limiter,
// *ratelimit.Limiter, *ratelimit.Keyed, *retry.Retry, *timeout.Timeout,
// *fallback.Fallback, *hedge.Hedger, *chaos.Injector, *recovery.Recovery),
// or a program's own. The instruments of a kind of policy are created the
// first time one is watched. Watch fails, and watches none of policies, if
// one does not implement bulwark.Watchable (or its Description is invalid)
// or if a policy of the same kind and name is already watched.
func (m *Metrics) Watch(policies ...any) error {
	srcs, err := exporter.OfAll(policies)
	if err != nil {
		return fmt.Errorf("otelmetrics: Watch: %w", err)
	}
	entries := make([]exporter.Entry[*watched], len(srcs))
	for i, src := range srcs {
		k, err := m.kinds.Get(src.Desc, m.newKindInstruments)
		if err != nil {
			return fmt.Errorf("otelmetrics: Watch: %s %q: %w", src.Desc.Policy, src.Name, err)
		}
		entries[i] = exporter.Entry[*watched]{Source: src, Data: newWatched(k, src)}
	}
	if err := m.watched.Add(ErrWatched, entries); err != nil {
		return err
	}
	for _, src := range srcs {
		m.index.Get(src.Desc.Policy, src.Name)
	}
	return nil
}

// kindInstruments are the observable instruments of one kind of policy.
type kindInstruments struct {
	m       *Metrics
	desc    *bulwark.Description
	state   metric.Int64ObservableGauge // nil if the kind has no states
	figures []metric.Observable         // Int64ObservableCounter or Float64ObservableGauge
	reg     metric.Registration         // nil if the kind has no instruments
}

// newKindInstruments creates the instruments of d's kind and registers
// the callback that observes its watched policies.
func (m *Metrics) newKindInstruments(d *bulwark.Description) (*kindInstruments, error) {
	k := &kindInstruments{m: m, desc: d}
	var all []metric.Observable
	if d.States != nil {
		g, err := m.meter.Int64ObservableGauge(exporter.StateOTelName(d), metric.WithUnit("1"),
			metric.WithDescription(exporter.StateHelp(d)))
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", exporter.StateOTelName(d), err)
		}
		k.state = g
		all = append(all, g)
	}
	for _, f := range d.Figures {
		var (
			o   metric.Observable
			err error
		)
		if f.Counter {
			o, err = m.meter.Int64ObservableCounter(exporter.OTelName(d, f), metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
		} else {
			o, err = m.meter.Float64ObservableGauge(exporter.OTelName(d, f), metric.WithUnit(f.Unit), metric.WithDescription(f.Help))
		}
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", exporter.OTelName(d, f), err)
		}
		k.figures = append(k.figures, o)
		all = append(all, o)
	}
	if len(all) == 0 {
		return k, nil // nothing to observe (recovery)
	}
	reg, err := m.meter.RegisterCallback(k.observe, all...)
	if err != nil {
		return nil, fmt.Errorf("registering the callback of %s: %w", d.Policy, err)
	}
	k.reg = reg
	return k, nil
}

func (k *kindInstruments) close() error {
	if k.reg == nil {
		return nil
	}
	return k.reg.Unregister()
}

// watched is one watched policy's attributes, resolved once.
type watched struct {
	kind   *kindInstruments
	states []metric.ObserveOption // by state
	values []metric.ObserveOption // by value, in the order Collect fills them
}

func newWatched(k *kindInstruments, src exporter.Source) *watched {
	w := &watched{kind: k}
	name := attribute.String("name", src.Name)
	for _, st := range src.Desc.States {
		w.states = append(w.states, metric.WithAttributeSet(attribute.NewSet(name, attribute.String("state", st))))
	}
	for _, f := range src.Desc.Figures {
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

func (k *kindInstruments) observe(_ context.Context, o metric.Observer) error {
	var buf []float64
	for _, e := range k.m.watched.List() {
		if e.Data.kind != k {
			continue
		}
		values, state := e.Read(buf)
		buf = values
		for i, st := range k.desc.States {
			v := int64(0)
			if st == state {
				v = 1
			}
			o.ObserveInt64(k.state, v, e.Data.states[i])
		}
		i := 0
		for j, f := range k.desc.Figures {
			for range f.Width() {
				if math.IsNaN(values[i]) { // does not apply to this policy
					i++
					continue
				}
				switch inst := k.figures[j].(type) {
				case metric.Int64ObservableCounter:
					o.ObserveInt64(inst, int64(values[i]), e.Data.values[i])
				case metric.Float64ObservableGauge:
					o.ObserveFloat64(inst, values[i], e.Data.values[i])
				}
				i++
			}
		}
	}
	return nil
}
