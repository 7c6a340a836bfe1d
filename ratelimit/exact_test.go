package ratelimit

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// withProcs runs f with GOMAXPROCS set to procs, as a limiter made inside
// f sees it.
func withProcs(procs int, f func()) {
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	f()
}

// reference is one unsharded GCRA, written out from its definition, with
// the same interval in ticks as the limiter: the count any timeline must
// get.
type reference struct {
	tat, interval, tau uint64
}

func (r *reference) allowN(now uint64, n int) bool {
	start := max(r.tat, now)
	next := start + uint64(n)*r.interval
	if next-now > r.tau {
		return false
	}
	r.tat = next
	return true
}

// Rate 7, Burst 200, one AllowAt every 100ms for 60s: every one of the 600
// calls is admitted (200 + 7 × 60 = 620 would be), at any GOMAXPROCS.
func TestLargeBurstAdmitsExactlyAtAnyGOMAXPROCS(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		withProcs(procs, func() {
			l := mustNew(t, Config{Rate: 7, Burst: 200})
			n := 0
			for i := range 600 {
				if l.AllowAt(l.base.Add(time.Duration(i) * 100 * ms)) {
					n++
				}
			}
			if n != 600 {
				t.Errorf("GOMAXPROCS %d: %d of 600 admitted, want 600", procs, n)
			}
		})
	}
}

// Over random timelines (single events and several at a time, bursts and
// quiet spells), a limiter admits exactly what one unsharded GCRA admits,
// at any GOMAXPROCS.
func TestAdmitsWhatOneGCRAAdmits(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		for seed := range uint64(20) {
			withProcs(procs, func() {
				rng := rand.New(rand.NewPCG(seed, 7))
				rate := []float64{7, 100, 1000, 33.3}[seed%4]
				burst := []int{1, 64, 200, 1000, 5000}[seed%5]
				l := mustNew(t, Config{Rate: rate, Burst: burst})
				p := l.limits.Load()
				ref := reference{interval: uint64(p.interval), tau: uint64(p.tau)}
				now := l.base
				got, want := 0, 0
				for range 5000 {
					now = now.Add(time.Duration(rng.ExpFloat64() * float64(time.Second) / rate / 1.2))
					if rng.IntN(50) == 0 {
						now = now.Add(time.Duration(rng.IntN(int(float64(burst)/rate*1e3))) * ms)
					}
					n := 1
					if rng.IntN(4) == 0 {
						n = 1 + rng.IntN(min(burst, 8))
					}
					if l.AllowN(now, n) {
						got += n
					}
					if ref.allowN(l.at(now), n) {
						want += n
					}
				}
				if got != want {
					t.Errorf("GOMAXPROCS %d, rate %v, burst %d, seed %d: %d events admitted, one GCRA admits %d", procs, rate, burst, seed, got, want)
				}
			})
		}
	}
}

// Concurrent callers at GOMAXPROCS 2 and 4 share a large burst and the
// rate exactly: at each instant, the count admitted so far is what one GCRA
// admits, whichever goroutine asks.
func TestConcurrentCallersAdmitWhatOneGCRAAdmits(t *testing.T) {
	for _, procs := range []int{2, 4} {
		withProcs(procs, func() {
			const rate, burst = 1000.0, 512
			l := mustNew(t, Config{Rate: rate, Burst: burst})
			total := 0
			for step := range 50 {
				now := l.base.Add(time.Duration(step) * 100 * ms) // 100 events earned each step
				var mu sync.Mutex
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						n := 0
						for range 300 {
							if l.AllowAt(now) {
								n++
							}
						}
						mu.Lock()
						total += n
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			if want := burst + 49*100; total != want {
				t.Errorf("GOMAXPROCS %d: %d admitted, one GCRA admits %d", procs, total, want)
			}
		})
	}
}
