package sidecar

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/simulate"
)

func TestParseTuneParam(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want tuneParam
		err  string
	}{
		{in: "breaker.wait=1s..30s", want: tuneParam{key: "breaker.wait", min: 1e9, max: 30e9, kind: 'd', log: true}},
		{in: "retry.max_attempts=1..5", want: tuneParam{key: "retry.max_attempts", min: 1, max: 5, kind: 'i'}},
		{in: "breaker.failure_rate=0.1..0.9", want: tuneParam{key: "breaker.failure_rate", min: 0.1, max: 0.9, kind: 'f'}},
		{in: "breaker.wait", err: "want KEY=MIN..MAX"},
		{in: "breaker.wait=1s..5", err: `"1s" is a duration but "5" is not`},
		{in: "retry.max_attempts=5..1", err: "min 5 is above max 1"},
		{in: "x=a..b", err: "are not two durations"},
	} {
		got, err := parseTuneParam(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}

// Tuning a retry-only route for at most 20% of the normal load on the
// dependency during an outage finds a breaker that meets the bound, which
// the route as given does not, and the same seed finds the same configs.
func TestTuneFindsConfigWithinGoal(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	base := []byte("routes:\n  - {name: api, prefix: /, upstream: 'http://upstream.invalid', timeout: 200ms, retry: {max_attempts: 3}}\n")
	sc := outageScenario()
	sc.Duration, sc.Load = 15*time.Second, []simulate.Load{{Rate: 50}}
	sc.Dependency[0].For, sc.Dependency[1].For = 5*time.Second, 5*time.Second
	sf := &ScenarioFile{Seed: sc.Seed, Duration: sc.Duration, Load: sc.Load, Dependency: sc.Dependency, Client: sc.Client}
	tune := func() (*tuner, []*tuneTrial) {
		p1, _ := parseTuneParam("breaker.failure_rate=0.2..0.9")
		p2, _ := parseTuneParam("breaker.wait=500ms..10s")
		tn := &tuner{base: base, params: []tuneParam{p1, p2}, goal: tuneGoal{maxOutageLoad: 0.2}, sf: sf}
		trials, err := tn.search(t.Context(), 12, 1)
		if err != nil {
			t.Fatal(err)
		}
		return tn, trials
	}
	tn, trials := tune()
	if len(trials) == 0 || len(trials) > 12 {
		t.Fatalf("%d trials, want 1 to 12", len(trials))
	}
	best := trials[0]
	if best.err != nil || best.bad > 0 {
		t.Fatalf("best trial: err %v, outside the goal by %v", best.err, best.bad)
	}
	cfg, err := ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	s, target, err := simulation(cfg, sf, simulate.NewVirtualClock(time.Unix(0, 0).UTC()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if tn.goal.violation(res.Summary) == 0 {
		t.Errorf("the base config meets the goal (outage load %v): the test shows nothing", res.Summary.OutageLoad)
	}
	_, again := tune()
	if a, b := tn.tuneTable(trials).Markdown(), tn.tuneTable(again).Markdown(); a != b {
		t.Errorf("two searches with seed 1 differ:\n%s\n%s", a, b)
	}
}
