package sidecar

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/simulate"
)

// bubbleRuntime is the time of a synctest bubble.
type bubbleRuntime struct{}

func (bubbleRuntime) Now() time.Time        { return time.Now() }
func (bubbleRuntime) Sleep(d time.Duration) { time.Sleep(d) }
func (bubbleRuntime) Settle()               { synctest.Wait() }

func simulateIn(t *testing.T, yaml string, sc simulate.Scenario) *simulate.Result {
	t.Helper()
	var res *simulate.Result
	synctest.Test(t, func(t *testing.T) {
		cfg, err := ParseConfig([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		sf := &ScenarioFile{Seed: sc.Seed, Duration: sc.Duration, Bucket: sc.Bucket, Load: sc.Load, Dependency: sc.Dependency, Client: sc.Client}
		s, target, err := simulation(cfg, sf, bubbleRuntime{})
		if err != nil {
			t.Fatal(err)
		}
		res, err = s.Run(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
	})
	return res
}

const simConfig = `routes:
  - name: api
    prefix: /
    upstream: http://upstream.invalid
    timeout: 200ms
    retry: {max_attempts: 3}
    breaker: {window: count, window_size: 20, minimum_calls: 10, failure_rate: 0.5, wait: 2s}
    bulkhead: {max_concurrent: 50}
    rate_limit: {rate: 500}
`

func outageScenario() simulate.Scenario {
	return simulate.Scenario{
		Seed:     7,
		Duration: 30 * time.Second,
		Load:     []simulate.Load{{Rate: 100}},
		Dependency: []simulate.Phase{
			{Name: "healthy", For: 10 * time.Second, Latency: simulate.Latency{Dist: simulate.LogNormal, Value: 5 * time.Millisecond, Sigma: 0.5}, ErrorRate: 0.01},
			{Name: "outage", For: 10 * time.Second, ErrorRate: 1, Latency: simulate.Latency{Value: time.Millisecond}},
			{Name: "recovered", Latency: simulate.Latency{Dist: simulate.LogNormal, Value: 5 * time.Millisecond, Sigma: 0.5}, ErrorRate: 0.01},
		},
		Client: simulate.Client{Deadline: time.Second},
	}
}

func TestSimulateOutage(t *testing.T) {
	res := simulateIn(t, simConfig, outageScenario())
	var buf bytes.Buffer
	res.WriteJSON(&buf)
	s := res.Summary
	t.Logf("%+v", s)
	if s.Requests < 2700 || s.Requests > 3300 {
		t.Errorf("requests = %d, want about 3000", s.Requests)
	}
	if s.Shares["breaker_open"] < 0.2 {
		t.Errorf("breaker_open share = %v, want the breaker to reject most of the outage", s.Shares["breaker_open"])
	}
	if s.OutageLoad > 0.2 {
		t.Errorf("outage load = %v, want the breaker to cut it below 20%% of normal", s.OutageLoad)
	}
	if s.Recovery < 0 || s.Recovery > 5*time.Second {
		t.Errorf("recovery = %v, want within the breaker's wait and probes", s.Recovery)
	}
}

func TestSimulateSameSeedSameBytes(t *testing.T) {
	var a, b bytes.Buffer
	simulateIn(t, simConfig, outageScenario()).WriteJSON(&a)
	simulateIn(t, simConfig, outageScenario()).WriteJSON(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two runs of the same scenario and seed differ")
	}
}

func TestParseScenarioErrors(t *testing.T) {
	in := `seed: 1
duration: 1m
load:
  - {rate: 100, for: 10s}
  - {shape: wave, rate: -1}
dependency:
  - name: healthy
    for: 30s
    latency: {dist: lognormal, value: 5ms, sigma: 0.5}
  - name: down
    error_rate: 1.5
    latency: {dist: percentiles, points: [{p: 50, value: 10ms}, {p: 90, value: 5ms}]}
client: {deadline: 1s, retries: 2, give_up: 0.5, colour: red}
`
	_, err := ParseScenario([]byte(in))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"client.colour: unknown key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	in = strings.Replace(in, ", colour: red", "", 1)
	_, err = ParseScenario([]byte(in))
	for _, want := range []string{
		"load[1].shape: must be constant, ramp, burst or diurnal, got \"wave\" (line 5)",
		"load[1].rate: must be in [0,1e7] requests per second, got -1 (line 5)",
		"dependency[1].error_rate: must be in [0,1], got 1.5 (line 11)",
		"dependency[1].latency.points[1]: percentiles and their values must increase (line 12)",
		"dependency[1].latency.points[1].p: the last point must be the 100th percentile (line 12)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func FuzzParseScenario(f *testing.F) {
	f.Add([]byte("duration: 1m\nload: [{rate: 10}]\ndependency: [{latency: {value: 5ms}}]\n"))
	f.Add([]byte("trace: {file: t.csv, format: nginx}\nclient: {deadline: 1s}\n"))
	f.Add([]byte("duration: 1h\nload: [{shape: diurnal, rate: 10, to: 100, every: 24h}]\ndependency: [{for: 1s, hang: true}, {capacity: 3, latency: {dist: normal, value: 5ms, stddev: 1ms}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := ParseScenario(data)
		if err != nil {
			var ce ConfigErrors
			if !errors.As(err, &ce) || len(ce) == 0 {
				t.Fatalf("error %v is not a non-empty ConfigErrors", err)
			}
			return
		}
		sc := sf.Scenario()
		if err := sc.Validate(); err != nil {
			t.Fatalf("ParseScenario accepted a scenario that Validate rejects: %v", err)
		}
	})
}
