package bench

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRateLimitFloor measures the least that any exact limiter with
// one shared state can cost: read the monotonic clock, then move one word
// forward with a compare-and-swap (what a GCRA limiter's admission does and
// nothing else: no limits, no counters), or, for a locking limiter like
// x/time/rate, the same under a mutex. Run at -cpu 1,2, serial and in
// parallel, it shows what the hardware charges for sharing one cache line
// between cores, which no exact limiter can avoid (issue 10: the sharded
// limiter that avoided it was not exact).
func BenchmarkRateLimitFloor(b *testing.B) {
	b.Run("clock-cas", func(b *testing.B) {
		s := new(floorState)
		for b.Loop() {
			s.cas()
		}
	})
	b.Run("clock-cas-parallel", func(b *testing.B) {
		s := new(floorState)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.cas()
			}
		})
	})
	b.Run("clock-mutex-parallel", func(b *testing.B) {
		s := new(floorState)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.locked()
			}
		})
	})
}

// floorState is one word on a cache line of its own.
type floorState struct {
	_    [64]byte
	word atomic.Uint64
	mu   sync.Mutex
	val  uint64
	_    [64]byte
}

var floorBase = time.Now()

func (s *floorState) cas() {
	now := uint64(time.Since(floorBase))
	for {
		old := s.word.Load()
		if s.word.CompareAndSwap(old, max(old, now)+1) {
			return
		}
	}
}

func (s *floorState) locked() {
	s.mu.Lock()
	now := uint64(time.Since(floorBase))
	s.val = max(s.val, now) + 1
	s.mu.Unlock()
}
