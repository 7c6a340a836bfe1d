package adaptive

import (
	"testing"
	"testing/synctest"
	"time"
)

// The model server of simulate: capacity simC calls, simBase latency at or
// below capacity, offered five times its throughput.
const (
	simC    = 50
	simBase = 10 * time.Millisecond
	simLoad = 5.0
	simRun  = 3 * time.Second
	simFrom = 1500 * time.Millisecond // the second half is judged
)

func runSim(t *testing.T, l *Limiter, cfg simConfig) simResult {
	t.Helper()
	if cfg.c == 0 {
		cfg.c, cfg.base, cfg.load, cfg.duration, cfg.every = simC, simBase, simLoad, simRun, 10*time.Millisecond
	}
	cfg.limiter, cfg.seed = l, 1
	return simulate(cfg)
}

// TestSimulationSettlesNearCapacity is the limiter's main claim. Against a
// server whose latency grows once more than C calls are in flight, offered
// five times what it can serve, each algorithm settles its limit within
// ±25% of C, and the calls it admits keep a p99 latency within twice the
// unloaded latency, while the server stays busy.
func TestSimulationSettlesNearCapacity(t *testing.T) {
	tests := []struct {
		name string
		alg  Algorithm
	}{
		{"Gradient defaults", Gradient{}},
		{"Vegas defaults", Vegas{}},
		{"AIMD with a 12ms threshold", AIMD{Threshold: simBase * 12 / 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, err := New(Config{Algorithm: tt.alg})
				if err != nil {
					t.Fatal(err)
				}
				r := runSim(t, l, simConfig{})
				half := r.limits[len(r.limits)/2:]
				lo, hi := half[0], half[0]
				for _, x := range half {
					lo, hi = min(lo, x), max(hi, x)
				}
				if lo < simC*3/4 || hi > simC*5/4 {
					t.Errorf("limit ranged over [%d, %d] in the second half; want within [%d, %d]", lo, hi, simC*3/4, simC*5/4)
				}
				p99 := r.percentile(0.99, simFrom, simRun)
				if p99 > 2*simBase {
					t.Errorf("p99 latency of admitted calls %v; want at most %v", p99, 2*simBase)
				}
				if busy := mean(r.inFlight[len(r.inFlight)/2:]); busy < simC {
					t.Errorf("mean calls in flight %.1f; the server (capacity %d) was left idle", busy, simC)
				}
				s := l.Snapshot()
				if s.Shed == 0 || uint64(r.shed) != s.Shed || uint64(r.admitted) != s.Admitted {
					t.Errorf("Snapshot %+v; the simulation saw %d admitted, %d shed", s, r.admitted, r.shed)
				}
				t.Logf("limit %.1f (%.2f·C, range %d..%d), p50 %v, p99 %v, shed %.0f%%",
					mean(half), mean(half)/simC, lo, hi, r.percentile(0.5, simFrom, simRun), p99,
					100*float64(r.shed)/float64(r.shed+r.admitted))
			})
		})
	}
}

// TestSimulationWithoutAdaptiveLimit is the contrast: a fixed limit of 10×C
// lets latency climb to ten times the unloaded latency, and with no limit
// at all it grows without bound.
func TestSimulationWithoutAdaptiveLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fixed, err := New(Config{Algorithm: AIMD{}, InitialLimit: 10 * simC, MinLimit: 10 * simC, MaxLimit: 10 * simC})
		if err != nil {
			t.Fatal(err)
		}
		r := runSim(t, fixed, simConfig{})
		p99 := r.percentile(0.99, simFrom, simRun)
		if p99 < 5*simBase {
			t.Errorf("fixed limit 10·C: p99 %v; expected it far above %v", p99, 5*simBase)
		}
		t.Logf("fixed limit 10·C: p99 %v (%.1f× the unloaded latency)", p99, float64(p99)/float64(simBase))

		r = runSim(t, nil, simConfig{c: simC, base: simBase, load: simLoad, duration: time.Second, every: 10 * time.Millisecond})
		early, late := r.percentile(0.99, 250*time.Millisecond, 500*time.Millisecond), r.percentile(0.99, 750*time.Millisecond, time.Second)
		if late < 5*simBase || late < early*3/2 {
			t.Errorf("no limit: p99 %v in the second quarter second, %v in the fourth; expected it large and growing", early, late)
		}
		n := len(r.inFlight)
		if r.inFlight[n-1] <= r.inFlight[n/2] {
			t.Errorf("no limit: %d calls in flight at the end, %d half way; expected growth", r.inFlight[n-1], r.inFlight[n/2])
		}
		t.Logf("no limit: p99 %v in [250ms,500ms), %v in [750ms,1s); %d calls in flight at the end", early, late, r.inFlight[n-1])
	})
}

// TestSimulationProbeFollowsSlowdown: the dependency becomes twice as slow
// for good half way through. With probes, Gradient measures the new no-load
// latency and settles near capacity again; without them it would take the
// slowdown for overload and keep the limit far too low.
func TestSimulationProbeFollowsSlowdown(t *testing.T) {
	cfg := simConfig{c: simC, base: simBase, load: simLoad, duration: 4 * time.Second, every: 10 * time.Millisecond,
		slowAt: 1500 * time.Millisecond, slowBase: 2 * simBase}
	synctest.Test(t, func(t *testing.T) {
		l, _ := New(Config{Algorithm: Gradient{ProbeInterval: 500 * time.Millisecond}})
		r := runSim(t, l, cfg)
		tail := r.limits[len(r.limits)*3/4:] // the last second
		if lo, hi := minOf(tail), maxOf(tail); lo < simC*3/4 || hi > simC*5/4 {
			t.Errorf("with probes: limit over [%d, %d] in the last second; want within ±25%% of %d", lo, hi, simC)
		}
		if got := l.Snapshot().NoLoad; got != 2*simBase {
			t.Errorf("with probes: no-load latency %v, want %v", got, 2*simBase)
		}
		if p99 := r.percentile(0.99, 3*time.Second, 4*time.Second); p99 > 4*simBase {
			t.Errorf("with probes: p99 %v in the last second; want within twice the new unloaded latency %v", p99, 2*simBase)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		l, _ := New(Config{Algorithm: Gradient{ProbeInterval: -1}})
		r := runSim(t, l, cfg)
		tail := r.limits[len(r.limits)*3/4:]
		if hi := maxOf(tail); hi > simC/2 {
			t.Errorf("without probes: limit up to %d in the last second; expected it stuck low", hi)
		}
	})
}

func minOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
