package bench

import (
	"cmp"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/ratelimit"
	"golang.org/x/time/rate"
)

// These tests put bulwark's ratelimit.Limiter beside golang.org/x/time/rate
// on the same timelines: the same reservations, cancellations and calls at
// the same instants must get the same answers. x/time/rate computes in
// floating point and bulwark in sixteenths of a nanosecond, so delays are
// compared to within a microsecond.

func newPair(t *testing.T, r float64, burst int) (*ratelimit.Limiter, *rate.Limiter) {
	t.Helper()
	b, err := ratelimit.New(ratelimit.Config{Rate: r, Burst: burst})
	if err != nil {
		t.Fatal(err)
	}
	return b, rate.NewLimiter(rate.Limit(r), burst)
}

func near(a, b time.Duration) bool { return max(a-b, b-a) <= time.Microsecond }

func atProcs(t *testing.T, f func(t *testing.T)) {
	for _, procs := range []int{1, 2} {
		t.Run("GOMAXPROCS="+string(rune('0'+procs)), func(t *testing.T) {
			old := runtime.GOMAXPROCS(procs)
			defer runtime.GOMAXPROCS(old)
			f(t)
		})
	}
}

// Rate 1, Burst 1, three reservations due at +1s, +2s, +3s; cancelling the
// first and reserving again puts the new one at +4s in both (the first's
// slot is lost: the later reservations depend on it).
func TestXRateCancelDoesNotDoubleBook(t *testing.T) {
	atProcs(t, func(t *testing.T) {
		b, x := newPair(t, 1, 1)
		t0 := time.Now().Add(time.Hour)
		b.AllowN(t0, 1)
		x.AllowN(t0, 1)
		var br [3]ratelimit.Reservation
		var xr [3]*rate.Reservation
		for i := range 3 {
			br[i], xr[i] = b.ReserveN(t0, 1), x.ReserveN(t0, 1)
		}
		br[0].CancelAt(t0)
		xr[0].CancelAt(t0)
		bd, xd := b.ReserveN(t0, 1).DelayFrom(t0), x.ReserveN(t0, 1).DelayFrom(t0)
		if bd != 4*time.Second || xd != 4*time.Second {
			t.Errorf("after cancelling the first of three: bulwark %v, x/time/rate %v; want 4s from both", bd, xd)
		}
	})
}

// conformant reports whether events of the given sizes at the given times
// (sorted) keep to rate r and burst: one GCRA from a full bucket, allowing
// a microsecond of rounding per event.
func conformant(events []event, r float64, burst int) (bool, int) {
	iv := float64(time.Second) / r
	tau := float64(burst) * iv
	var tat float64
	for i, e := range events {
		a := float64(e.at)
		tat = max(tat, a) + float64(e.n)*iv
		if tat-a > tau+float64(time.Microsecond)*float64(i+1) {
			return false, i
		}
	}
	return true, 0
}

type event struct {
	at time.Duration
	n  int
}

// Random reservations and cancellations. While no cancelled reservation
// has later ones depending on it, both give every reservation the same
// delay. x/time/rate keeps the time of its latest event when a reservation
// in the middle is cancelled, so after such a cancellation it gives back
// nothing for earlier ones; bulwark gives back what the reservations still
// standing do not depend on. So, throughout: bulwark never makes a
// reservation wait longer than x/time/rate, and the reservations it keeps
// are always a schedule one GCRA admits: no two share a slot.
func TestXRateReserveCancelAgree(t *testing.T) {
	atProcs(t, func(t *testing.T) {
		equal, total := 0, 0
		for seed := range uint64(40) {
			rng := rand.New(rand.NewPCG(seed, 3))
			r := []float64{1, 7, 10, 100}[seed%4]
			burst := []int{1, 3, 10, 200}[seed/4%4]
			b, x := newPair(t, r, burst)
			t0 := time.Now().Add(time.Hour)
			now := t0
			type pair struct {
				b   ratelimit.Reservation
				x   *rate.Reservation
				at  time.Duration // when the events may happen
				n   int
				off bool // cancelled before its time: its events never happen
			}
			var all []*pair
			var open []*pair
			middle := false // a reservation with later ones was cancelled
			for i := range 400 {
				now = now.Add(time.Duration(rng.ExpFloat64()*float64(time.Second)/r/1.5) + time.Duration(rng.IntN(1000)))
				if len(open) > 0 && rng.IntN(3) == 0 {
					k := rng.IntN(len(open))
					p := open[k]
					if now.Before(t0.Add(p.at)) {
						p.off = true
						middle = middle || k < len(open)-1
					}
					p.b.CancelAt(now)
					p.x.CancelAt(now)
					open = append(open[:k], open[k+1:]...)
					continue
				}
				n := 1 + rng.IntN(min(burst, 4))
				p := &pair{b: b.ReserveN(now, n), x: x.ReserveN(now, n), n: n}
				bd, xd := p.b.DelayFrom(now), p.x.DelayFrom(now)
				p.at = now.Add(bd).Sub(t0)
				total++
				switch {
				case p.b.OK() != p.x.OK():
					t.Fatalf("seed %d, step %d, ReserveN(%d): OK: bulwark %v, x/time/rate %v", seed, i, n, p.b.OK(), p.x.OK())
				case near(bd, xd):
					equal++
				case !middle:
					t.Fatalf("seed %d (rate %v, burst %d), step %d, ReserveN(%d): bulwark delay %v, x/time/rate %v",
						seed, r, burst, i, n, bd, xd)
				case bd > xd:
					t.Fatalf("seed %d (rate %v, burst %d), step %d, ReserveN(%d): bulwark waits %v, longer than x/time/rate's %v",
						seed, r, burst, i, n, bd, xd)
				}
				all = append(all, p)
				open = append(open, p)
			}
			var kept []event
			for _, p := range all {
				if !p.off {
					kept = append(kept, event{p.at, p.n})
				}
			}
			slices.SortStableFunc(kept, func(a, b event) int { return cmp.Compare(a.at, b.at) })
			if ok, i := conformant(kept, r, burst); !ok {
				t.Fatalf("seed %d (rate %v, burst %d): the reservations bulwark kept overrun the rate at event %d of %d", seed, r, burst, i, len(kept))
			}
		}
		t.Logf("%d of %d reservations got the same delay from both", equal, total)
	})
}

// Rate 7, Burst 200, one AllowAt every 100ms for 60s: 600 admitted by both.
func TestXRateLargeBurst(t *testing.T) {
	atProcs(t, func(t *testing.T) {
		b, x := newPair(t, 7, 200)
		t0 := time.Now().Add(time.Hour)
		nb, nx := 0, 0
		for i := range 600 {
			at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
			if b.AllowAt(at) {
				nb++
			}
			if x.AllowN(at, 1) {
				nx++
			}
		}
		if nb != 600 || nx != 600 {
			t.Errorf("admitted: bulwark %d, x/time/rate %d; want 600 from both", nb, nx)
		}
	})
}

// Random timelines with large bursts (single events and several, quiet
// spells and rushes): both admit the same number of events.
func TestXRateLargeBurstRandomTimeline(t *testing.T) {
	atProcs(t, func(t *testing.T) {
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(seed, 5))
			r := []float64{7, 33.3, 1000, 5000}[seed%4]
			burst := []int{200, 500, 1000, 4096, 256}[seed%5]
			b, x := newPair(t, r, burst)
			now := time.Now().Add(time.Hour)
			nb, nx := 0, 0
			for range 20000 {
				now = now.Add(time.Duration(rng.ExpFloat64() * float64(time.Second) / r / 1.3))
				if rng.IntN(500) == 0 {
					now = now.Add(time.Duration(float64(burst) / r * float64(time.Second) * rng.Float64()))
				}
				n := 1
				if rng.IntN(5) == 0 {
					n = 1 + rng.IntN(16)
				}
				if b.AllowN(now, n) {
					nb += n
				}
				if x.AllowN(now, n) {
					nx += n
				}
			}
			if d := nb - nx; d != 0 {
				t.Errorf("seed %d (rate %v, burst %d): bulwark admitted %d events, x/time/rate %d", seed, r, burst, nb, nx)
			}
		}
	})
}

// Concurrent callers at one instant share a large burst exactly, in both.
func TestXRateLargeBurstConcurrent(t *testing.T) {
	atProcs(t, func(t *testing.T) {
		b, x := newPair(t, 7, 1000)
		t0 := time.Now().Add(time.Hour)
		var nb, nx int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				cb, cx := 0, 0
				for range 250 {
					if b.AllowAt(t0) {
						cb++
					}
					if x.AllowN(t0, 1) {
						cx++
					}
				}
				mu.Lock()
				nb, nx = nb+cb, nx+cx
				mu.Unlock()
			})
		}
		wg.Wait()
		if nb != 1000 || nx != 1000 {
			t.Errorf("admitted at one instant: bulwark %d, x/time/rate %d; want the burst, 1000, from both", nb, nx)
		}
	})
}
