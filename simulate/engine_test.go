package simulate

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
)

// bubble is the time of a synctest bubble.
type bubble struct{}

func (bubble) Now() time.Time        { return time.Now() }
func (bubble) Sleep(d time.Duration) { time.Sleep(d) }
func (bubble) Settle()               { synctest.Wait() }

// policyTarget calls the dependency through p and names the outcome.
func policyTarget(p bulwark.Policy) Target {
	return TargetFunc(func(ctx context.Context, dep *Dependency) (string, bool) {
		err := bulwark.Run(ctx, p, dep.Call)
		switch {
		case err == nil:
			return "ok", true
		case errors.Is(err, breaker.ErrOpen):
			return "breaker_open", false
		case ctx.Err() != nil:
			return "gave_up", false
		}
		return "error", false
	})
}

func run(t *testing.T, sc Scenario, mk func() (Target, []Gauge)) (res *Result, out []byte) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		target, gauges := mk()
		s, err := New(sc, Options{Runtime: bubble{}, Gauges: gauges})
		if err != nil {
			t.Fatal(err)
		}
		res, err = s.Run(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
	})
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return res, buf.Bytes()
}

func healthy() Latency { return Latency{Dist: LogNormal, Value: 5 * time.Millisecond, Sigma: 0.5} }

func outage() Scenario {
	return Scenario{
		Seed: 1, Duration: 20 * time.Second, Load: []Load{{Rate: 50}},
		Dependency: []Phase{
			{Name: "healthy", For: 5 * time.Second, Latency: healthy()},
			{Name: "down", For: 5 * time.Second, Latency: Latency{Value: time.Millisecond}, ErrorRate: 1},
			{Name: "healthy", Latency: healthy()},
		},
		Client: Client{Deadline: time.Second},
	}
}

func breakerAndRetry() (Target, []Gauge) {
	br, err := breaker.New(breaker.Config{Window: breaker.WindowCount, WindowSize: 20, MinimumCalls: 10, WaitDuration: time.Second})
	if err != nil {
		panic(err)
	}
	rt, err := retry.New(retry.Config{MaxAttempts: 3}) // an open breaker's rejection is not retried
	if err != nil {
		panic(err)
	}
	return policyTarget(bulwark.Chain(rt, br)), []Gauge{{Name: "breaker", Read: func() float64 { return float64(br.State()) }}}
}

func TestBreakerCutsTheOutage(t *testing.T) {
	res, _ := run(t, outage(), breakerAndRetry)
	s := res.Summary
	if s.Requests < 900 || s.Requests > 1100 {
		t.Errorf("requests = %d, want about 1000 (50/s for 20s)", s.Requests)
	}
	if s.Shares["breaker_open"] < 0.15 {
		t.Errorf("breaker_open share = %v, want most of the outage's quarter", s.Shares["breaker_open"])
	}
	if s.OutageLoad <= 0 || s.OutageLoad > 0.3 {
		t.Errorf("outage load = %v, want the breaker to cut calls to the dependency to under 30%% of normal", s.OutageLoad)
	}
	if s.Recovery < 0 || s.Recovery > 3*time.Second {
		t.Errorf("recovery = %v, want within the breaker's wait and a probe", s.Recovery)
	}
	var open bool
	for _, r := range res.Series[5:10] {
		open = open || r.Gauges[0] == float64(breaker.StateOpen)
	}
	if !open {
		t.Error("the breaker gauge never showed open during the outage")
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	_, a := run(t, outage(), breakerAndRetry)
	_, b := run(t, outage(), breakerAndRetry)
	if !bytes.Equal(a, b) {
		t.Fatalf("two runs with seed 1 differ:\n%s\n---\n%s", a, b)
	}
	sc := outage()
	sc.Seed = 2
	_, c := run(t, sc, breakerAndRetry)
	if bytes.Equal(a, c) {
		t.Error("seeds 1 and 2 gave the same bytes: the seed is not used")
	}
}

// Configs are compared on the same requests: the arrivals do not depend on
// what the policies or the dependency drew.
func TestArrivalsIndependentOfPolicies(t *testing.T) {
	plain := func() (Target, []Gauge) {
		return TargetFunc(func(ctx context.Context, dep *Dependency) (string, bool) {
			if err := dep.Call(ctx); err != nil {
				return "error", false
			}
			return "ok", true
		}), nil
	}
	a, _ := run(t, outage(), plain)
	b, _ := run(t, outage(), breakerAndRetry)
	if a.Summary.Requests != b.Summary.Requests {
		t.Errorf("requests: %d without policies, %d with a breaker and retries; want the same arrivals", a.Summary.Requests, b.Summary.Requests)
	}
}
