package faultsuite

import (
	"strings"
	"testing"
	"time"
)

// TestViolations checks each bound on made-up results: a run that keeps
// them all has none, and each broken bound is named.
func TestViolations(t *testing.T) {
	sc := Scenario{Name: "s", Outage: true, Phases: []Phase{{Down: true}}}
	good := func() *Result {
		return &Result{
			Scenario: sc, Deadline: time.Second, GoroutinesStart: 5, GoroutinesEnd: 5,
			Modes: []ModeResult{
				{Mode: Unprotected, Sent: 2, ReachedDown: 1000, MaxSends: 7,
					Calls: []Call{{Took: 3 * time.Second, Method: "GET", ID: "0-1"}}},
				{Mode: Library, Sent: 2, ReachedDown: 100, MaxSends: MaxAttempts,
					Calls: []Call{{At: time.Second, Took: time.Second + Slack, Method: "GET", ID: "1-1"}}},
				{Mode: Proxy, Sent: 2, ReachedDown: 10, MaxSends: 1},
			},
		}
	}
	if v := good().Violations(); len(v) != 0 {
		t.Fatalf("a run within every bound: %v", v)
	}
	for _, tc := range []struct {
		name   string
		break_ func(r *Result)
		want   string
	}{
		{"outage cut", func(r *Result) { r.Modes[2].ReachedDown = 101 }, "s / bulwark proxy: 101 requests reached the dependency while it was down, against 1000"},
		{"max attempts", func(r *Result) { r.Modes[1].MaxSends = MaxAttempts + 1; r.Modes[1].Over = []string{"1-7×4"} }, "reached the dependency 4 times, max_attempts is 3"},
		{"POST twice", func(r *Result) { r.Modes[0].MaxSendsUnsafe = 2 }, "s / no protection: a POST reached the dependency 2 times"},
		{"late caller", func(r *Result) { r.Modes[1].Calls[0].Took = time.Second + Slack + time.Millisecond }, "1 callers waited longer than the deadline"},
		{"late beyond the lag", func(r *Result) {
			r.Modes[1].Calls[0].Took = time.Second + Slack + 60*time.Millisecond
			r.lags = []lagSample{{at: 1500 * time.Millisecond, late: 50 * time.Millisecond}}
		}, "1 callers waited longer"},
		{"lost", func(r *Result) { r.Modes[2].Lost = 1 }, "s / bulwark proxy: 1 of 2 calls got neither"},
		{"leak", func(r *Result) { r.GoroutinesEnd = 6 }, "s: 6 goroutines at the end, 5 at the start"},
	} {
		r := good()
		tc.break_(r)
		v := r.Violations()
		if len(v) != 1 || !strings.Contains(v[0], tc.want) {
			t.Errorf("%s: Violations = %q, want one containing %q", tc.name, v, tc.want)
		}
	}
	// The runner's own lateness during a call is taken off its wait.
	r := good()
	r.Modes[1].Calls[0].Took = time.Second + Slack + 40*time.Millisecond
	r.lags = []lagSample{{at: 10 * time.Millisecond, late: time.Second}, {at: 1500 * time.Millisecond, late: 50 * time.Millisecond}}
	if v := r.Violations(); len(v) != 0 {
		t.Errorf("a caller late by less than the runner's lag during its call: %v", v)
	}
}

func TestRecovery(t *testing.T) {
	b := 100 * time.Millisecond
	calls := []Call{
		{At: 50 * time.Millisecond, Outcome: FailedFast},
		{At: 150 * time.Millisecond, Outcome: Fallback},
		{At: 250 * time.Millisecond, Outcome: Succeeded},
		{At: 260 * time.Millisecond, Outcome: Fallback},
		{At: 350 * time.Millisecond, Outcome: Succeeded},
	}
	if got := recovery(calls, 100*time.Millisecond, b, 400*time.Millisecond); got != 300*time.Millisecond {
		t.Errorf("recovery = %v, want 300ms (the end of the first bucket of successes, from 100ms)", got)
	}
	if got := recovery(calls[:4], 100*time.Millisecond, b, 400*time.Millisecond); got != -1 {
		t.Errorf("recovery with no healthy bucket = %v, want -1", got)
	}
}

func TestSchedule(t *testing.T) {
	sc := Scenario{Rate: 10, Phases: []Phase{{Duration: time.Second}, {Duration: time.Second, Load: 3}}}
	s := schedule(sc, 1)
	if len(s) != 40 || s[10] != time.Second || s[11]-s[10] != time.Second/30 {
		t.Errorf("schedule: %d sends, s[10] = %v, s[11]-s[10] = %v; want 40, 1s, %v", len(s), s[10], s[11]-s[10], time.Second/30)
	}
	if got := len(schedule(sc, 0.5)); got != 20 {
		t.Errorf("schedule at scale 0.5: %d sends, want 20", got)
	}
}
