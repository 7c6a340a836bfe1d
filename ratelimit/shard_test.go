package ratelimit

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// mustShard returns a limiter configured by cfg and split over s shards.
func mustShard(t *testing.T, cfg Config, s int) *Limiter {
	t.Helper()
	p, err := newLimits(cfg.Rate, cfg.Limit, cfg.Per, cfg.Burst, "Config.")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimiter(cfg, p, s)
	if !l.limits.Load().sharded || len(l.shards) != s {
		t.Fatalf("%+v is not split over %d shards", cfg, s)
	}
	return l
}

func TestShardingNeedsALargeBurst(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		shards int
		want   bool
	}{
		{"large burst", Config{Rate: 100, Burst: 64 * 4}, 4, true},
		{"burst below 64 per shard", Config{Rate: 100, Burst: 64*4 - 1}, 4, false},
		{"one core", Config{Rate: 100, Burst: 1 << 20}, 1, false},
		{"smooth", Config{Rate: 100}, 4, false},
		{"unlimited", Config{Rate: math.Inf(1), Burst: 1 << 20}, 4, false},
		{"MaxWait", Config{Rate: 100, Burst: 1 << 20, MaxWait: time.Second}, 4, false},
		{"Limit and Per", Config{Limit: 3, Per: time.Second, Burst: 1000}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newLimits(tt.cfg.Rate, tt.cfg.Limit, tt.cfg.Per, tt.cfg.Burst, "Config.")
			if err != nil {
				t.Fatal(err)
			}
			if got := newLimiter(tt.cfg, p, tt.shards).limits.Load().sharded; got != tt.want {
				t.Errorf("sharded = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestShardCount(t *testing.T) {
	if n := shardCount(); n&(n-1) != 0 || n > maxLimiterShards {
		t.Errorf("shardCount() = %d, want a power of two at most %d", n, maxLimiterShards)
	}
}

// The shards' rates and bursts add up to the limiter's exactly.
func TestShardsAddUp(t *testing.T) {
	for _, burst := range []int{256, 257, 259, 1000, 1 << 20} {
		l := mustShard(t, Config{Rate: 1000, Burst: burst}, 4)
		p := l.limits.Load()
		var sum int64
		for i := range l.shards {
			sum += p.tauOf(i) / p.shardInterval
		}
		if sum != int64(burst) || p.shardInterval != 4*p.interval {
			t.Errorf("burst %d: shard bursts add up to %d, shard interval %d for an interval of %d", burst, sum, p.shardInterval, p.interval)
		}
	}
}

// A lone caller gets the whole burst, however the shards are split, and
// then the rate.
func TestShardedLoneCallerUsesTheWholeBurst(t *testing.T) {
	for _, tc := range []struct {
		burst  int
		spread bool // start at the processor's shard, not shard 0
	}{{256, false}, {259, false}, {1000, false}, {256, true}, {259, true}, {1000, true}} {
		burst := tc.burst
		l := mustShard(t, Config{Rate: 1000, Burst: burst}, 4)
		l.spread.Store(tc.spread)
		now := time.Now()
		for i := range burst {
			if !l.AllowAt(now) {
				t.Fatalf("burst %d: event %d refused", burst, i)
			}
		}
		d := l.CheckN(now, 1)
		if d.Allowed || d.Remaining != 0 || d.RetryAfter != 4*ms || d.Limit != burst {
			t.Errorf("burst %d: after the burst, %+v; want refused, 0 remaining, retry after 4ms (4 shards at 250/s)", burst, d)
		}
		// 1s later: 1000 more events, 250 from each shard.
		later := now.Add(time.Second)
		n := 0
		for l.AllowAt(later) {
			n++
		}
		if want := min(burst, 1000); n != want {
			t.Errorf("burst %d: %d events 1s later, want %d", burst, n, want)
		}
	}
}

// At one instant, concurrent callers together get exactly the burst: a
// caller is refused only when every shard is empty, and never admitted
// beyond.
func TestShardedConcurrentCallersShareTheBurstExactly(t *testing.T) {
	for _, spread := range []bool{false, true} {
		t.Run(map[bool]string{false: "from shard 0", true: "from the processor's shard"}[spread], func(t *testing.T) {
			testShardedConcurrentCallers(t, spread)
		})
	}
}

func testShardedConcurrentCallers(t *testing.T, spread bool) {
	l := mustShard(t, Config{Rate: 1, Burst: 1001}, 8)
	l.spread.Store(spread)
	now := time.Now()
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for g := range counts {
		wg.Go(func() {
			for range 500 {
				if l.AllowAt(now) {
					counts[g]++
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != 1001 {
		t.Fatalf("%d events admitted at one instant with a burst of 1001", total)
	}
	if s := l.Snapshot(); s.Allowed != 1001 || s.Rejected != 4000-1001 || s.Tokens >= 1 {
		t.Errorf("Snapshot %+v, want 1001 allowed, %d rejected, no whole token", s, 4000-1001)
	}
}

// Over a long run with concurrent callers, each at its own times, a
// sharded limiter never admits more than Burst + Rate × time: with single
// events, which the shards decide throughout, and with several at a time,
// which fold the shards back into one state along the way.
func TestShardedNeverOverAdmits(t *testing.T) {
	const (
		rate   = 10_000.0
		burst  = 500
		steps  = 4000
		step   = 37 * time.Microsecond
		jitter = 5 * time.Microsecond
	)
	tests := []struct {
		name        string
		maxN        int
		staySharded bool
	}{
		{"single events", 1, true},
		{"up to 3 events", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustShard(t, Config{Rate: rate, Burst: burst}, 4)
			start := time.Now()
			var wg sync.WaitGroup
			counts := make([]int, 6)
			for g := range counts {
				wg.Go(func() {
					for k := range steps {
						now := start.Add(time.Duration(k)*step + time.Duration(g)*jitter)
						n := 1 + (k+g)%tt.maxN
						if l.AllowN(now, n) {
							counts[g] += n
						}
					}
				})
			}
			wg.Wait()
			total := 0
			for _, c := range counts {
				total += c
			}
			span := ticksOf(time.Duration(steps-1)*step + time.Duration(len(counts)-1)*jitter)
			bound := burst + int(span/uint64(l.limits.Load().interval))
			if total > bound {
				t.Fatalf("%d events admitted, more than burst + rate × time = %d", total, bound)
			}
			// The callers ask for more than the rate: the limiter should
			// be busy.
			if total < bound*9/10 {
				t.Errorf("%d events admitted, far below the bound %d", total, bound)
			}
			if got := l.limits.Load().sharded; got != tt.staySharded {
				t.Errorf("sharded = %v at the end, want %v", got, tt.staySharded)
			}
		})
	}
}

// A request for several events that no one shard holds, but the shards
// together do, folds them back and is admitted, as by one state.
func TestShardedSeveralEventsAcrossShards(t *testing.T) {
	l := mustShard(t, Config{Rate: 1, Burst: 256}, 4)
	l.since = func() time.Duration { return time.Hour } // fixed: nothing refills
	now := l.base.Add(time.Hour)
	n := 0
	for l.AllowN(now, 50) { // leaves 14 in each shard, then folds
		n += 50
	}
	if n != 250 || l.limits.Load().sharded {
		t.Errorf("%d events admitted in fifties, sharded %v; want 250, folded", n, l.limits.Load().sharded)
	}
	if !l.AllowN(now, 6) || l.AllowN(now, 1) {
		t.Error("the last 6 events of the burst were not admitted exactly")
	}
}

// SetLimit folds the shards back into one state, keeping the events that
// were left, and later calls see the new limit.
func TestShardedSetLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustShard(t, Config{Rate: 100, Burst: 400}, 4)
		for range 100 {
			if !l.Allow() {
				t.Fatal("refused within the burst")
			}
		}
		if got := l.Snapshot().Tokens; got != 300 {
			t.Fatalf("Tokens = %v before SetLimit, want 300", got)
		}
		if err := l.SetLimit(100, 1000); err != nil {
			t.Fatal(err)
		}
		if l.limits.Load().sharded {
			t.Fatal("still sharded after SetLimit")
		}
		s := l.Snapshot()
		if s.Tokens != 300 || s.Burst != 1000 || s.Allowed != 100 {
			t.Fatalf("Snapshot after SetLimit %+v, want 300 tokens, burst 1000, 100 allowed", s)
		}
		n := 0
		for l.Allow() {
			n++
		}
		if n != 300 {
			t.Errorf("%d events admitted after SetLimit, want the 300 left", n)
		}
		time.Sleep(10 * time.Second) // refills the new burst of 1000
		n = 0
		for l.Allow() {
			n++
		}
		if n != 1000 {
			t.Errorf("%d events admitted 10s later, want the new burst of 1000", n)
		}
	})
}

// Callers racing with the fold never get more than the burst between them.
func TestShardedFoldDuringCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustShard(t, Config{Rate: 1, Burst: 2000}, 4)
		var wg sync.WaitGroup
		counts := make([]int, 4)
		for g := range counts {
			wg.Go(func() {
				for range 1000 {
					if l.Allow() {
						counts[g]++
					}
				}
			})
		}
		wg.Go(func() {
			if err := l.SetBurst(2000); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		total := 0
		for _, c := range counts {
			total += c
		}
		if total > 2000 {
			t.Fatalf("%d events admitted at one instant with a burst of 2000", total)
		}
		if s := l.Snapshot(); s.Allowed != uint64(total) || float64(total)+s.Tokens > 2000 {
			t.Errorf("Snapshot %+v after %d admitted: more than the burst accounted for", s, total)
		}
	})
}

// Reserve and Wait fold the shards back, and then behave as on any
// limiter.
func TestShardedReserveFolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustShard(t, Config{Rate: 100, Burst: 256}, 2)
		for range 56 {
			l.Allow()
		}
		r := l.Reserve()
		if !r.OK() || r.Delay() != 0 || l.limits.Load().sharded {
			t.Fatalf("Reserve: ok %v, delay %v, sharded %v", r.OK(), r.Delay(), l.limits.Load().sharded)
		}
		if got := l.Snapshot().Tokens; got != 199 {
			t.Errorf("Tokens = %v after 57 events, want 199", got)
		}
	})
}

func TestShardedNoAllocations(t *testing.T) {
	l := mustShard(t, Config{Rate: MaxRate, Burst: 1 << 20}, 4)
	refusing := mustShard(t, Config{Rate: 1e-3, Burst: 256}, 4)
	for refusing.Allow() {
	}
	spread := mustShard(t, Config{Rate: MaxRate, Burst: 1 << 20}, 4)
	spread.spread.Store(true)
	now := time.Now()
	tests := map[string]func(){
		"Allow":         func() { l.Allow() },
		"Allow spread":  func() { spread.Allow() },
		"AllowAt":       func() { l.AllowAt(now) },
		"Check":         func() { l.Check() },
		"Allow refused": func() { refusing.Allow() },
		"Check refused": func() { refusing.Check() },
		"Snapshot":      func() { l.Snapshot() },
	}
	for name, f := range tests {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

// A caller that loaded a shard's state before the fold and decides after
// it must not be admitted by that shard, which the fold has already given
// to the single state: it starts over under the new setting.
func TestShardedCallerDecidingAcrossTheFold(t *testing.T) {
	l := mustShard(t, Config{Rate: 1, Burst: 256}, 4)
	folded := false
	l.since = func() time.Duration {
		// The first reading comes after the caller loaded its shard.
		if !folded {
			folded = true
			if err := l.SetBurst(256); err != nil {
				t.Error(err)
			}
		}
		return time.Hour // fixed: nothing refills
	}
	n := 0
	for l.Allow() {
		n++
	}
	if !folded || l.limits.Load().sharded {
		t.Fatal("the limiter was not folded")
	}
	if n != 256 {
		t.Errorf("%d events admitted with a burst of 256 across the fold, want 256", n)
	}
}
