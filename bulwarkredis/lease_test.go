package bulwarkredis

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Item 10: with leasing, replicas hammering one key admit no more than the
// limit plus Replicas×(Lease−1) over the run, and make far fewer round
// trips than calls.
func TestLimiterLeaseBound(t *testing.T) {
	for _, lease := range []int{0, 10} {
		t.Run(map[int]string{0: "no lease", 10: "lease 10"}[lease], func(t *testing.T) {
			c0 := newClient(t)
			prefix := testPrefix(t, c0)
			const (
				replicas   = 3
				goroutines = 8
				rate       = 500.0
				burst      = 50
				run        = 400 * time.Millisecond
			)
			var admitted, calls atomic.Int64
			var trips []*roundTrips
			var lims []*Limiter
			for range replicas {
				c, rt := countedClient(t)
				trips = append(trips, rt)
				lim, err := NewLimiter(c, LimiterConfig{Rate: rate, Burst: burst, Lease: lease, Prefix: prefix, Timeout: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				lims = append(lims, lim)
			}
			var wg sync.WaitGroup
			start := time.Now()
			stop := start.Add(run)
			for _, lim := range lims {
				for range goroutines {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < 100_000 && time.Now().Before(stop); i++ {
							d, err := lim.Allow(context.Background(), "hot")
							if err != nil {
								t.Error(err)
								return
							}
							calls.Add(1)
							if d.Allowed {
								admitted.Add(1)
							}
						}
					}()
				}
			}
			wg.Wait()
			elapsed := time.Since(start)
			bound := float64(burst) + rate*elapsed.Seconds() + float64(replicas*max(lease-1, 0))
			got := admitted.Load()
			if float64(got) > bound {
				t.Errorf("admitted %d in %v; the bound is burst + rate×elapsed + replicas×(lease−1) = %.0f", got, elapsed, bound)
			}
			if float64(got) < 0.5*(float64(burst)+rate*run.Seconds()) {
				t.Errorf("admitted only %d in %v; want about %.0f", got, elapsed, float64(burst)+rate*run.Seconds())
			}
			var n int64
			for _, rt := range trips {
				n += rt.n.Load()
			}
			t.Logf("lease %d: %d calls, %d admitted (bound %.0f), %d round trips", lease, calls.Load(), got, bound, n)
		})
	}
}

// With a lease, 64 goroutines on one key under a generous limit make about
// one round trip per Lease calls.
func TestLimiterLeaseRoundTrips(t *testing.T) {
	c, rt := countedClient(t)
	prefix := testPrefix(t, c)
	const lease = 100
	lim, err := NewLimiter(c, LimiterConfig{Rate: 1e6, Burst: 10_000, Lease: lease, Prefix: prefix, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var admitted atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				if d, err := lim.Allow(context.Background(), "hot"); err == nil && d.Allowed {
					admitted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := admitted.Load(); got != 64*500 {
		t.Errorf("admitted %d of %d", got, 64*500)
	}
	if n := rt.n.Load(); n > 64*500/lease*2 {
		t.Errorf("%d round trips for %d calls with a lease of %d", n, 64*500, lease)
	}
}
