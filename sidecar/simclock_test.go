package sidecar

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/simulate"
)

// simulateVirtual runs sc against the config yaml on the command's virtual
// clock, with GOMAXPROCS 1 as the command runs it, and returns the result
// and its JSON.
func simulateVirtual(t *testing.T, yaml string, sc simulate.Scenario) (*simulate.Result, []byte) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cfg, err := ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sf := &ScenarioFile{Seed: sc.Seed, Duration: sc.Duration, Load: sc.Load, Dependency: sc.Dependency, Client: sc.Client}
	s, target, err := simulation(cfg, sf, simulate.NewVirtualClock(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res.WriteJSON(&b)
	return res, b.Bytes()
}

// On the command's virtual clock every policy of a route runs in simulated
// time: the rate limiter admits its rate of the simulated seconds (on the
// real clock it admitted only its burst, the whole run taking a fraction of
// a real second), and the route's timeout ends calls to a hanging
// dependency (on the real clock it never passed, and the client's deadline
// ended them instead). The same seed gives the same bytes.
func TestVirtualClockRunsEveryPolicy(t *testing.T) {
	const yaml = `routes:
  - name: api
    prefix: /
    upstream: http://upstream.invalid
    timeout: 200ms
    retry: {max_attempts: 2}
    bulkhead: {max_concurrent: 500, max_wait: 50ms}
    rate_limit: {rate: 100}
`
	sc := simulate.Scenario{
		Seed: 3, Duration: 10 * time.Second, Load: []simulate.Load{{Rate: 200}},
		Dependency: []simulate.Phase{
			{Name: "healthy", For: 5 * time.Second, Latency: simulate.Latency{Value: 5 * time.Millisecond}},
			{Name: "hanging", Hang: true},
		},
		Client: simulate.Client{Deadline: 2 * time.Second},
	}
	res, a := simulateVirtual(t, yaml, sc)
	s := res.Summary
	if got := s.Shares[outcomeRateLimited.String()]; got < 0.4 || got > 0.6 {
		t.Errorf("rate_limited share = %v, want about half (100/s admitted of 200/s offered)", got)
	}
	if got := s.Shares[outcomeTimeout.String()]; got < 0.2 || got > 0.3 {
		t.Errorf("timeout share = %v, want about a quarter (the admitted half of the hanging half); shares %v", got, s.Shares)
	}
	if got := s.Shares[outcomeClientGone.String()]; got != 0 {
		t.Errorf("client_gone share = %v, want 0: the route's 200ms timeout, twice, ends before the client's 2s deadline", got)
	}
	_, b := simulateVirtual(t, yaml, sc)
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same seed differ")
	}
}

// A route's request_timeout runs on the virtual clock too: a hanging
// dependency gets the proxy's timeout before the client's deadline.
func TestVirtualClockRequestTimeout(t *testing.T) {
	const yaml = "routes:\n  - {name: api, prefix: /, upstream: 'http://upstream.invalid', request_timeout: 300ms}\n"
	sc := simulate.Scenario{
		Seed: 1, Duration: 2 * time.Second, Load: []simulate.Load{{Rate: 50}},
		Dependency: []simulate.Phase{{Name: "hanging", Hang: true}},
		Client:     simulate.Client{Deadline: 2 * time.Second},
	}
	res, _ := simulateVirtual(t, yaml, sc)
	if got := res.Summary.Shares[outcomeTimeout.String()]; got != 1 {
		t.Errorf("timeout share = %v, want 1; shares %v", got, res.Summary.Shares)
	}
	if p := res.Summary.P99; p < 300*time.Millisecond || p > 320*time.Millisecond {
		t.Errorf("p99 = %v, want the 300ms request_timeout (to the latency histogram's resolution)", p)
	}
}
