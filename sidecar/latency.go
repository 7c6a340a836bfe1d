package sidecar

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Latency histograms: log-linear buckets of microseconds, four per
// doubling (a quantile read from them is within 19% of the true value),
// from 1 µs to 2^40 µs (12 days); lock-free, safe for concurrent use.
const (
	latencySub     = 4 // buckets per doubling
	latencyOctaves = 41
	latencyBuckets = latencyOctaves * latencySub
)

// latencyHist counts durations into latencyBuckets buckets.
type latencyHist struct {
	n     [latencyBuckets]atomic.Uint64
	count atomic.Uint64
	sumUS atomic.Uint64
}

// latencyBucket returns the bucket of a duration of us microseconds.
func latencyBucket(us uint64) int {
	if us < latencySub {
		return int(us) // 0..3 µs: one bucket each
	}
	o := bits.Len64(us) - 1 // us in [2^o, 2^(o+1)), o >= 2
	sub := int(us>>(o-2)) & (latencySub - 1)
	i := o*latencySub + sub - (2*latencySub - latencySub) // o = 2 starts at bucket 4
	return min(i, latencyBuckets-1)
}

// latencyUpper returns the upper bound of bucket i, in seconds.
func latencyUpper(i int) float64 {
	if i < latencySub {
		return float64(i+1) / 1e6
	}
	j := i + latencySub
	o, sub := j/latencySub, j%latencySub
	return math.Ldexp(float64(latencySub+sub+1), o-2) / 1e6
}

func (h *latencyHist) observe(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	h.n[latencyBucket(us)].Add(1)
	h.count.Add(1)
	h.sumUS.Add(us)
}

// latencyCounts is a copy of a histogram's buckets.
type latencyCounts struct {
	n     [latencyBuckets]uint64
	count uint64
	sumUS uint64
}

func (h *latencyHist) load() latencyCounts {
	var c latencyCounts
	for i := range h.n {
		c.n[i] = h.n[i].Load()
	}
	c.count, c.sumUS = h.count.Load(), h.sumUS.Load()
	return c
}

// sub returns the observations of c not in p (an older copy).
func (c latencyCounts) sub(p latencyCounts) latencyCounts {
	for i := range c.n {
		c.n[i] -= p.n[i]
	}
	c.count -= p.count
	c.sumUS -= p.sumUS
	return c
}

// quantile returns the q-quantile in seconds, interpolated within its
// bucket, or NaN when the histogram is empty.
func (c *latencyCounts) quantile(q float64) float64 {
	var total uint64
	for _, n := range c.n {
		total += n
	}
	if total == 0 {
		return math.NaN()
	}
	rank := q * float64(total)
	var seen float64
	for i, n := range c.n {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo := 0.0
			if i > 0 {
				lo = latencyUpper(i - 1)
			}
			return lo + (latencyUpper(i)-lo)*(rank-seen)/float64(n)
		}
		seen += float64(n)
	}
	return latencyUpper(latencyBuckets - 1)
}
