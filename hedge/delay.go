package hedge

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// tracker keeps the durations of recent successful attempts and the hedge
// delay taken from them. The delay is read on every call with one atomic
// load; it is recomputed, under the lock, every few samples.
type tracker struct {
	percentile float64
	minSamples int
	minDelay   time.Duration
	every      int // samples between recomputations

	delay atomic.Int64 // the current delay, in nanoseconds

	mu      sync.Mutex
	ring    []time.Duration
	next    int  // where the next sample goes
	n       int  // samples held, up to len(ring)
	pending int  // samples since the last recomputation
	ready   bool // the delay has been computed from samples at least once
	scratch []time.Duration
}

func newTracker(initial time.Duration, percentile float64, window, minSamples int, minDelay time.Duration) *tracker {
	t := &tracker{
		percentile: percentile,
		minSamples: minSamples,
		minDelay:   minDelay,
		every:      max(1, window/50),
		ring:       make([]time.Duration, window),
		scratch:    make([]time.Duration, window),
	}
	t.delay.Store(int64(initial))
	return t
}

func (t *tracker) current() time.Duration { return time.Duration(t.delay.Load()) }

// record adds the duration of a successful attempt.
func (t *tracker) record(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ring[t.next] = d
	t.next = (t.next + 1) % len(t.ring)
	t.n = min(t.n+1, len(t.ring))
	t.pending++
	if t.n < t.minSamples || (t.ready && t.pending < t.every) {
		return
	}
	t.ready, t.pending = true, 0
	s := t.scratch[:t.n]
	copy(s, t.ring[:t.n])
	slices.Sort(s)
	// The nearest-rank percentile: the smallest sample with at least
	// percentile of the samples at or below it.
	i := int(math.Ceil(t.percentile*float64(len(s)))) - 1
	i = min(max(i, 0), len(s)-1)
	t.delay.Store(int64(max(s[i], t.minDelay)))
}

// samples returns the number of samples held.
func (t *tracker) samples() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}
