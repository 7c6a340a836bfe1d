package faultsuite

import (
	"slices"
	"time"
)

// summary is a mode's figures over a whole scenario: the percent of calls
// of each outcome and the latency quantiles of all calls.
type summary struct {
	share    [numOutcomes]float64
	p50, p99 time.Duration
}

func summarize(_ *Result, m ModeResult) summary {
	var s summary
	took := make([]time.Duration, 0, len(m.Calls))
	for _, c := range m.Calls {
		s.share[c.Outcome]++
		took = append(took, c.Took)
	}
	if n := float64(len(m.Calls)); n > 0 {
		for i := range s.share {
			s.share[i] *= 100 / n
		}
	}
	s.p50, s.p99 = quantile(took, 0.5), quantile(took, 0.99)
	return s
}

// quantile returns the q-quantile of ds (nearest rank), sorting ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
