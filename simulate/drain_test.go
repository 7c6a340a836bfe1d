package simulate

import (
	"context"
	"testing"
	"time"
)

// A request still waiting on a timer of its own (a retry's backoff, not an
// event of the engine) when the load stops gets the drain to finish: the
// run does not end, cancelling it, just because no event is left.
func TestDrainWaitsForPolicyTimers(t *testing.T) {
	sc := Scenario{
		Seed: 1, Duration: time.Second, Arrivals: Even,
		Load:       []Load{{Rate: 2}},
		Dependency: []Phase{{Latency: Latency{Value: time.Millisecond}}},
	}
	res, _ := run(t, sc, func() (Target, []Gauge) {
		return TargetFunc(func(ctx context.Context, dep *Dependency) (string, bool) {
			select {
			case <-time.After(3 * time.Second): // a backoff on the policy's clock
			case <-ctx.Done():
				return "gave_up", false
			}
			return "ok", dep.Call(ctx) == nil
		}), nil
	})
	if got := res.Summary.Shares["ok"]; got != 1 {
		t.Errorf("shares = %v, want every request ok", res.Summary.Shares)
	}
}
