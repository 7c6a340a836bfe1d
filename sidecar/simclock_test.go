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

// A breaker's wait_jitter draws from a source seeded by the scenario, so a
// config with jitter repeats byte for byte (it drew from the runtime's
// generator: each run opened for other waits).
func TestVirtualClockBreakerJitterRepeats(t *testing.T) {
	const yaml = `routes:
  - name: api
    prefix: /
    upstream: http://upstream.invalid
    breaker: {window: consecutive, window_size: 3, wait: 1s, wait_multiplier: 2, max_wait: 8s, wait_jitter: 0.9, half_open_calls: 1}
`
	sc := simulate.Scenario{
		Seed: 11, Duration: 20 * time.Second, Load: []simulate.Load{{Rate: 50}},
		Dependency: []simulate.Phase{
			{Name: "healthy", For: 2 * time.Second, Latency: simulate.Latency{Value: 5 * time.Millisecond}},
			{Name: "outage", For: 15 * time.Second, ErrorRate: 1, Latency: simulate.Latency{Value: time.Millisecond}},
			{Name: "recovered", Latency: simulate.Latency{Value: 5 * time.Millisecond}},
		},
		Client: simulate.Client{Deadline: time.Second},
	}
	res, a := simulateVirtual(t, yaml, sc)
	if got := res.Summary.Shares[outcomeBreakerOpen.String()]; got < 0.3 {
		t.Fatalf("breaker_open share = %v, want the breaker open for most of the outage; shares %v", got, res.Summary.Shares)
	}
	for i := range 3 {
		if _, b := simulateVirtual(t, yaml, sc); !bytes.Equal(a, b) {
			t.Fatalf("run %d with the same seed differs from the first", i+2)
		}
	}
}

// A chaos block's injected latency runs on the virtual clock: every call
// takes the injected 100ms of simulated time on top of the dependency's
// 5ms (on the real clock the virtual clock did not wait for it).
func TestVirtualClockChaosLatency(t *testing.T) {
	const yaml = `routes:
  - name: api
    prefix: /
    upstream: http://upstream.invalid
    chaos: {latency_rate: 1, latency: 100ms}
`
	sc := simulate.Scenario{
		Seed: 5, Duration: 2 * time.Second, Load: []simulate.Load{{Rate: 50}},
		Dependency: []simulate.Phase{{Name: "healthy", Latency: simulate.Latency{Value: 5 * time.Millisecond}}},
		Client:     simulate.Client{Deadline: time.Second},
	}
	res, a := simulateVirtual(t, yaml, sc)
	s := res.Summary
	if got := s.Shares[outcomeOK.String()]; got != 1 {
		t.Errorf("ok share = %v, want 1; shares %v", got, s.Shares)
	}
	if s.P50 < 105*time.Millisecond || s.P50 > 110*time.Millisecond {
		t.Errorf("p50 = %v, want the injected 100ms and the dependency's 5ms", s.P50)
	}
	if _, b := simulateVirtual(t, yaml, sc); !bytes.Equal(a, b) {
		t.Error("two runs with the same seed differ")
	}
}
