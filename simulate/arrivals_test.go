package simulate

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Even arrivals follow a load generator's fixed schedule: one request
// every 1/rate from the start of each constant segment, the same requests
// as `bulwark scenarios` sends.
func TestEvenArrivals(t *testing.T) {
	sc := Scenario{
		Seed: 1, Duration: 2 * time.Second, Arrivals: Even,
		Load:       []Load{{For: time.Second, Rate: 50}, {Rate: 100}},
		Dependency: []Phase{{Latency: Latency{Value: time.Millisecond}}},
	}
	var mu sync.Mutex
	var at []time.Duration
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s, err := New(sc, Options{Runtime: bubble{}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Run(t.Context(), TargetFunc(func(ctx context.Context, dep *Dependency) (string, bool) {
			mu.Lock()
			at = append(at, time.Since(start))
			mu.Unlock()
			return "ok", dep.Call(ctx) == nil
		}))
		if err != nil {
			t.Fatal(err)
		}
	})
	var want []time.Duration
	for i := range 50 {
		want = append(want, time.Duration(i)*20*time.Millisecond)
	}
	for i := range 100 {
		want = append(want, time.Second+time.Duration(i)*10*time.Millisecond)
	}
	if len(at) != len(want) {
		t.Fatalf("%d requests, want %d", len(at), len(want))
	}
	for i := range want {
		if d := at[i] - want[i]; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("request %d sent at %v, want %v", i, at[i], want[i])
		}
	}
}

// Even arrivals of a ramp send the integral of its rate: a ramp from 0 to
// 100/s over 2 s offers 100 requests, more and more densely.
func TestEvenArrivalsRamp(t *testing.T) {
	sc := Scenario{
		Seed: 1, Duration: 2 * time.Second, Arrivals: Even,
		Load:       []Load{{Shape: Ramp, Rate: 0, To: 100, For: 2 * time.Second}},
		Dependency: []Phase{{Latency: Latency{Value: time.Millisecond}}},
	}
	res, _ := run(t, sc, func() (Target, []Gauge) {
		return TargetFunc(func(ctx context.Context, dep *Dependency) (string, bool) { return "ok", dep.Call(ctx) == nil }), nil
	})
	if got := res.Summary.Requests; got < 99 || got > 101 {
		t.Errorf("requests = %d, want 100 ± 1", got)
	}
	if a, b := res.Series[0].Sends, res.Series[1].Sends; a < 24 || a > 26 || b < 74 || b > 76 {
		t.Errorf("sends per second = %d, %d; want 25 and 75 (± 1)", a, b)
	}
}

func TestArrivalsValidate(t *testing.T) {
	sc := Scenario{Duration: time.Second, Arrivals: "uniform", Load: []Load{{Rate: 1}}, Dependency: []Phase{{}}}
	err := sc.Validate()
	if err == nil || !strings.Contains(err.Error(), "arrivals: must be poisson or even") {
		t.Errorf("Validate() = %v, want an error naming arrivals", err)
	}
}
