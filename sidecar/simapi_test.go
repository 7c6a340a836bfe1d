package sidecar

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/simulate"
)

func TestParseScenarioArrivals(t *testing.T) {
	in := "duration: 1s\narrivals: even\nload: [{rate: 10}]\ndependency: [{latency: {value: 1ms}}]\n"
	f, err := ParseScenario([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Scenario().Arrivals; got != simulate.Even {
		t.Errorf("Arrivals = %q, want even", got)
	}
	_, err = ParseScenario([]byte(strings.Replace(in, "even", "uniform", 1)))
	if want := `arrivals: must be poisson or even, got "uniform" (line 2)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v does not mention %q", err, want)
	}
}

// NewSimulation's target sends the method a wrapper sets with
// WithSimulatedMethod: the route retries a failing GET, never a POST.
func TestNewSimulationMethod(t *testing.T) {
	attempts := func(method string) int {
		var res *simulate.Result
		synctest.Test(t, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(`routes:
  - name: api
    prefix: /
    upstream: http://upstream.invalid
    retry: {max_attempts: 3, methods: [GET]}
`))
			if err != nil {
				t.Fatal(err)
			}
			sf := &ScenarioFile{Seed: 1, Duration: time.Second, Arrivals: simulate.Even,
				Load:       []simulate.Load{{Rate: 10}},
				Dependency: []simulate.Phase{{ErrorRate: 1, Latency: simulate.Latency{Value: time.Millisecond}}}}
			sim, target, err := NewSimulation(cfg, sf, bubbleRuntime{})
			if err != nil {
				t.Fatal(err)
			}
			res, err = sim.Run(t.Context(), simulate.TargetFunc(func(ctx context.Context, dep *simulate.Dependency) (string, bool) {
				return target.Do(WithSimulatedMethod(ctx, method), dep)
			}))
			if err != nil {
				t.Fatal(err)
			}
		})
		if res.Summary.Requests != 10 {
			t.Fatalf("%s: %d requests, want 10 (even arrivals at 10/s for 1 s)", method, res.Summary.Requests)
		}
		return res.Summary.Attempts
	}
	if got := attempts(http.MethodGet); got != 30 {
		t.Errorf("GET: %d attempts reached the dependency, want 30 (3 each)", got)
	}
	if got := attempts(http.MethodPost); got != 10 {
		t.Errorf("POST: %d attempts reached the dependency, want 10 (never retried)", got)
	}
}
