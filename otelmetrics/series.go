package otelmetrics

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
)

const (
	numKinds    = catalog.NumKinds
	numOutcomes = catalog.NumOutcomes
)

// A cell is one counter series: the count is kept here and reported by the
// meter's callback at collection time, so that counting is one atomic add.
type cell struct {
	n    atomic.Uint64
	inst metric.Int64ObservableCounter
	opt  metric.ObserveOption
}

func (c *cell) add() { c.n.Add(1) }

// series holds the counter cells of one policy instance, with their
// attributes resolved, so that observing an event builds no attribute set.
type series struct {
	m            *Metrics
	policy, name string
	ignore       bool

	counters [numKinds][numOutcomes]*cell // nil where bulwark.events counts
	slow     [numOutcomes]*cell
	wait     metric.Float64Histogram
	waitOpts []metric.RecordOption

	transitions metric.Int64ObservableCounter // nil if not counted

	events [numKinds]atomic.Pointer[cell] // made by other on first use

	mu    sync.Mutex // guards the lazily made cells below, and the making of events
	trans map[[2]string]*cell
	newer map[bulwark.Kind]*cell // kinds bulwark does not define
}

func newSeries(m *Metrics, policy, name string) *series {
	s := &series{m: m, policy: policy, name: name}
	spec, ok := catalog.Policies[policy]
	if !ok {
		return s
	}
	s.ignore = spec.Ignore
	if s.ignore {
		return s
	}
	nameKV := attribute.String("name", name)
	s.counters = catalog.Counters(spec, func(slot *catalog.Slot) *cell {
		kv := []attribute.KeyValue{nameKV}
		for i, l := range slot.Metric.Labels {
			kv = append(kv, attribute.String(l, slot.Values[i]))
		}
		return m.newCell(m.counters[slot.Metric], kv...)
	})
	if spec.Slow != nil {
		for _, o := range catalog.Outcomes {
			s.slow[o] = m.newCell(m.counters[spec.Slow], nameKV, attribute.String("outcome", o.String()))
		}
	}
	if spec.Wait != nil {
		s.wait = m.histograms[spec.Wait]
		s.waitOpts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(nameKV))}
	}
	if spec.Transitions != nil {
		s.transitions = m.counters[spec.Transitions]
	}
	return s
}

func (s *series) observe(e bulwark.Event) {
	if s.ignore {
		return
	}
	k, o := int(e.Kind), int(e.Outcome)
	if k >= numKinds {
		s.other(e.Kind)
		return
	}
	if o >= numOutcomes {
		o = 0
	}
	if c := s.counters[k][o]; c != nil {
		c.add()
		if e.Slow && e.Kind == bulwark.KindCall && s.slow[o] != nil {
			s.slow[o].add()
		}
		return
	}
	switch {
	case e.Kind == bulwark.KindWait && s.wait != nil:
		s.wait.Record(background, e.Delay.Seconds(), s.waitOpts...)
	case e.Kind == bulwark.KindStateChange && s.transitions != nil:
		s.transition(e.From, e.To).add()
	default:
		s.other(e.Kind)
	}
}

// transition returns the cell counting transitions from → to. Transitions
// are rare, so the lock is acceptable.
func (s *series) transition(from, to string) *cell {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trans == nil {
		s.trans = map[[2]string]*cell{}
	}
	c := s.trans[[2]string{from, to}]
	if c == nil {
		c = s.m.newCell(s.transitions,
			attribute.String("name", s.name), attribute.String("from", from), attribute.String("to", to))
		s.trans[[2]string{from, to}] = c
	}
	return c
}

// other counts an event no dedicated instrument covers in bulwark.events.
func (s *series) other(k bulwark.Kind) {
	if int(k) < numKinds {
		if c := s.events[k].Load(); c != nil {
			c.add()
			return
		}
	}
	s.mu.Lock()
	var c *cell
	if int(k) < numKinds {
		c = s.events[k].Load()
	} else {
		c = s.newer[k]
	}
	if c == nil {
		c = s.m.newCell(s.m.counters[catalog.Other],
			attribute.String("policy", s.policy), attribute.String("name", s.name), attribute.String("kind", k.String()))
		if int(k) < numKinds {
			s.events[k].Store(c)
		} else {
			if s.newer == nil {
				s.newer = map[bulwark.Kind]*cell{}
			}
			s.newer[k] = c
		}
	}
	s.mu.Unlock()
	c.add()
}
