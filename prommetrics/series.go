package prommetrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
)

// series holds the counters of one policy instance, resolved once so that
// observing an event is an array index and an atomic add.
type series struct {
	policy, name string
	fam          *families
	ignore       bool // the policy's figures come from its Snapshot

	counters    [numKinds][numOutcomes]prometheus.Counter // nil where bulwark_events_total counts
	slow        [numOutcomes]prometheus.Counter
	wait        prometheus.Observer    // KindWait delays, or nil
	transitions *prometheus.CounterVec // KindStateChange, or nil
	events      [numKinds]atomic.Pointer[prometheus.Counter]
}

func newSeries(f *families, policy, name string) *series {
	s := &series{policy: policy, name: name, fam: f}
	spec, ok := catalog.Policies[policy]
	if !ok {
		return s
	}
	s.ignore = spec.Ignore
	s.counters = catalog.Counters(spec, func(slot *catalog.Slot) prometheus.Counter {
		return f.counters[slot.Metric].WithLabelValues(append([]string{name}, slot.Values...)...)
	})
	if spec.Slow != nil {
		for _, o := range catalog.Outcomes {
			s.slow[o] = f.counters[spec.Slow].WithLabelValues(name, o.String())
		}
	}
	if spec.Wait != nil {
		s.wait = f.histograms[spec.Wait].WithLabelValues(name)
	}
	if spec.Transitions != nil {
		s.transitions = f.counters[spec.Transitions]
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
		c.Inc()
		if e.Slow && e.Kind == bulwark.KindCall && s.slow[o] != nil {
			s.slow[o].Inc()
		}
		return
	}
	switch {
	case e.Kind == bulwark.KindWait && s.wait != nil:
		s.wait.Observe(e.Delay.Seconds())
	case e.Kind == bulwark.KindStateChange && s.transitions != nil:
		// Rare, so the label lookup is acceptable here.
		s.transitions.WithLabelValues(s.name, e.From, e.To).Inc()
	default:
		s.other(e.Kind)
	}
}

// other counts an event no dedicated metric covers in bulwark_events_total.
func (s *series) other(k bulwark.Kind) {
	i := int(k)
	if i >= numKinds {
		s.fam.counters[catalog.Other].WithLabelValues(s.policy, s.name, k.String()).Inc()
		return
	}
	c := s.events[i].Load()
	if c == nil {
		n := s.fam.counters[catalog.Other].WithLabelValues(s.policy, s.name, k.String())
		s.events[i].CompareAndSwap(nil, &n)
		c = s.events[i].Load()
	}
	(*c).Inc()
}
