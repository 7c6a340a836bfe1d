package breaker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
)

// slowCall runs a call that takes d (in the bubble's virtual time).
func slowCall(br *Breaker, d time.Duration, err error) error {
	return bulwark.Run(context.Background(), br, func(context.Context) error {
		time.Sleep(d)
		return err
	})
}

// TestClosedToOpen drives a closed breaker with a sequence of calls and
// checks whether, and why, it opened.
func TestClosedToOpen(t *testing.T) {
	type step struct {
		n     int           // calls
		err   error         // each returns
		took  time.Duration // each takes
		pause time.Duration // wait after the step
	}
	for _, tc := range []struct {
		name      string
		c         Config
		steps     []step
		wantState State
		wantCause Cause
		wantCalls int // calls that reached the dependency
	}{
		{
			name:      "failure rate opens exactly at the minimum",
			c:         Config{MinimumCalls: 10},
			steps:     []step{{n: 10, err: errBoom}},
			wantState: StateOpen, wantCause: CauseFailureRate, wantCalls: 10,
		},
		{
			name:      "minimum calls gate the rate",
			c:         Config{MinimumCalls: 10},
			steps:     []step{{n: 9, err: errBoom}},
			wantState: StateClosed, wantCalls: 9,
		},
		{
			name:      "half failures is at the threshold",
			c:         Config{},
			steps:     []step{{n: 5}, {n: 5, err: errBoom}},
			wantState: StateOpen, wantCause: CauseFailureRate, wantCalls: 10,
		},
		{
			name:      "below the threshold stays closed",
			c:         Config{},
			steps:     []step{{n: 6}, {n: 4, err: errBoom}, {n: 90}},
			wantState: StateClosed, wantCalls: 100,
		},
		{
			name:      "failures pushed out of the count window",
			c:         Config{WindowSize: 10, FailureRateThreshold: 0.5},
			steps:     []step{{n: 4, err: errBoom}, {n: 10}, {n: 4, err: errBoom}},
			wantState: StateClosed, wantCalls: 18,
		},
		{
			name:      "custom threshold",
			c:         Config{WindowSize: 10, FailureRateThreshold: 0.2},
			steps:     []step{{n: 8}, {n: 2, err: errBoom}},
			wantState: StateOpen, wantCause: CauseFailureRate, wantCalls: 10,
		},
		{
			name:      "slow-call rate",
			c:         Config{SlowCallDuration: 100 * time.Millisecond, SlowCallRateThreshold: 0.5},
			steps:     []step{{n: 5, took: 50 * time.Millisecond}, {n: 5, took: 200 * time.Millisecond}},
			wantState: StateOpen, wantCause: CauseSlowCallRate, wantCalls: 10,
		},
		{
			name:      "exactly the slow-call duration is not slow",
			c:         Config{SlowCallDuration: 100 * time.Millisecond, SlowCallRateThreshold: 0.5},
			steps:     []step{{n: 10, took: 100 * time.Millisecond}},
			wantState: StateClosed, wantCalls: 10,
		},
		{
			name:      "slow calls ignored when detection is off",
			c:         Config{SlowCallRateThreshold: 0.1},
			steps:     []step{{n: 20, took: time.Hour}},
			wantState: StateClosed, wantCalls: 20,
		},
		{
			name:      "consecutive failures",
			c:         Config{Window: WindowConsecutive, WindowSize: 3},
			steps:     []step{{n: 2, err: errBoom}, {n: 1}, {n: 3, err: errBoom}},
			wantState: StateOpen, wantCause: CauseConsecutiveFailures, wantCalls: 6,
		},
		{
			name:      "consecutive run broken by a success",
			c:         Config{Window: WindowConsecutive, WindowSize: 3},
			steps:     []step{{n: 2, err: errBoom}, {n: 1}, {n: 2, err: errBoom}, {n: 1}},
			wantState: StateClosed, wantCalls: 6,
		},
		{
			name:      "time window opens on the calls of its seconds",
			c:         Config{Window: WindowTime, WindowSize: 10, MinimumCalls: 4},
			steps:     []step{{n: 3, err: errBoom, pause: 9*time.Second + 999*time.Millisecond}, {n: 1}},
			wantState: StateOpen, wantCause: CauseFailureRate, wantCalls: 4,
		},
		{
			name:      "time window forgets calls older than its seconds",
			c:         Config{Window: WindowTime, WindowSize: 10, MinimumCalls: 4},
			steps:     []step{{n: 3, err: errBoom, pause: 10 * time.Second}, {n: 1, err: errBoom}, {n: 3}},
			wantState: StateClosed, wantCalls: 7,
		},
		{
			name:      "time window forgets everything after a long pause",
			c:         Config{Window: WindowTime, WindowSize: 10, MinimumCalls: 4},
			steps:     []step{{n: 3, err: errBoom, pause: time.Hour}, {n: 3}},
			wantState: StateClosed, wantCalls: 6,
		},
		{
			name:      "time window slow-call rate",
			c:         Config{Window: WindowTime, MinimumCalls: 2, SlowCallDuration: time.Second},
			steps:     []step{{n: 2, took: 2 * time.Second}},
			wantState: StateOpen, wantCause: CauseSlowCallRate, wantCalls: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tr transitions
				tc.c.OnStateChange = tr.listen
				br := mustNew(t, tc.c)
				reached := 0
				for _, s := range tc.steps {
					for range s.n {
						err := bulwark.Run(context.Background(), br, func(context.Context) error {
							reached++
							time.Sleep(s.took)
							return s.err
						})
						if err != s.err {
							t.Fatalf("call %d: got %v, want %v", reached, err, s.err)
						}
					}
					time.Sleep(s.pause)
				}
				synctest.Wait()
				wantState(t, br, tc.wantState)
				if reached != tc.wantCalls {
					t.Errorf("%d calls reached the dependency, want %d", reached, tc.wantCalls)
				}
				if tc.wantState == StateOpen {
					if got := tr.last().Cause; got != tc.wantCause {
						t.Errorf("opened by %v, want %v", got, tc.wantCause)
					}
					rejected(t, br, StateOpen)
				}
			})
		})
	}
}

// TestOpenHalfOpenClosed follows the automatic cycle through its timers.
func TestOpenHalfOpenClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: 10 * time.Second, OnStateChange: tr.listen})
		start := time.Now()
		calls(t, br, 1, errBoom)
		wantState(t, br, StateOpen)
		oe := rejected(t, br, StateOpen)
		if want := start.Add(10 * time.Second); !oe.Until.Equal(want) {
			t.Errorf("Until %v, want %v", oe.Until, want)
		}
		if got := oe.RetryAfter(); got != 10*time.Second {
			t.Errorf("RetryAfter %v, want 10s", got)
		}
		var ra bulwark.RetryAfter
		if !errors.As(error(oe), &ra) {
			t.Error("*OpenError does not implement bulwark.RetryAfter")
		}

		time.Sleep(10*time.Second - time.Nanosecond)
		synctest.Wait()
		wantState(t, br, StateOpen)
		if got := oe.RetryAfter(); got != time.Nanosecond {
			t.Errorf("RetryAfter %v, want 1ns", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		wantState(t, br, StateHalfOpen)
		if got := oe.RetryAfter(); got != 0 {
			t.Errorf("RetryAfter after the wait %v, want 0", got)
		}

		calls(t, br, 2, nil)
		wantState(t, br, StateHalfOpen)
		calls(t, br, 1, nil)
		wantState(t, br, StateClosed)
		if s := br.Snapshot(); s.Calls != 0 || s.Probes != 0 {
			t.Errorf("closed with a non-empty window: %+v", s)
		}
		want := "closed>open(consecutive-failures) open>half-open(wait-elapsed) half-open>closed(probes-passed)"
		if got := tr.String(); got != want {
			t.Errorf("transitions\n got %s\nwant %s", got, want)
		}
	})
}

// TestHalfOpen checks how the probes decide.
func TestHalfOpen(t *testing.T) {
	for _, tc := range []struct {
		name      string
		c         Config
		probes    []error       // in order; nil is a success
		took      time.Duration // each probe takes
		want      State         // after the probes
		wantCause Cause         // of the last transition
		wantCalls int           // probes that reached the dependency
		wantWait  time.Duration // the open wait after reopening
	}{
		{"all succeed", Config{}, []error{nil, nil, nil}, 0, StateClosed, CauseProbesPassed, 3, 0},
		{"one of three fails", Config{}, []error{errBoom, nil, nil}, 0, StateClosed, CauseProbesPassed, 3, 0},
		{"two of three fail: reopens at once", Config{}, []error{nil, errBoom, errBoom, nil}, 0, StateOpen, CauseProbesFailed, 3, 30 * time.Second},
		{"strict threshold", Config{FailureRateThreshold: 0.3}, []error{nil, errBoom, nil}, 0, StateOpen, CauseProbesFailed, 2, 30 * time.Second},
		{"slow probes", Config{SlowCallDuration: time.Second, SlowCallRateThreshold: 0.5}, []error{nil, nil, nil}, 2 * time.Second, StateOpen, CauseProbesFailed, 2, 30 * time.Second},
		{"one probe", Config{HalfOpenCalls: 1}, []error{nil}, 0, StateClosed, CauseProbesPassed, 1, 0},
		{"grown wait", Config{WaitMultiplier: 3}, []error{errBoom, errBoom}, 0, StateOpen, CauseProbesFailed, 2, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tr transitions
				tc.c.OnStateChange = tr.listen
				tc.c.MinimumCalls = 1
				br := mustNew(t, tc.c)
				calls(t, br, 1, errBoom)
				time.Sleep(br.Snapshot().Wait)
				synctest.Wait()
				wantState(t, br, StateHalfOpen)
				reached := 0
				for _, e := range tc.probes {
					if br.State() != StateHalfOpen {
						break
					}
					err := slowCall(br, tc.took, e)
					if err != e {
						t.Fatalf("probe: got %v, want %v", err, e)
					}
					reached++
				}
				wantState(t, br, tc.want)
				if reached != tc.wantCalls {
					t.Errorf("%d probes reached the dependency, want %d", reached, tc.wantCalls)
				}
				if got := tr.last().Cause; got != tc.wantCause {
					t.Errorf("last transition by %v, want %v", got, tc.wantCause)
				}
				if tc.want == StateOpen {
					if s := br.Snapshot(); s.Wait != tc.wantWait || !s.OpenUntil.Equal(time.Now().Add(tc.wantWait)) {
						t.Errorf("reopened for %v until %v, want %v", s.Wait, s.OpenUntil, tc.wantWait)
					}
				}
			})
		})
	}
}

func TestHalfOpenRejectsBeyondTheProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustNew(t, Config{Name: "db", Window: WindowConsecutive, WindowSize: 1, HalfOpenCalls: 2})
		calls(t, br, 1, errBoom)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		p1, err1 := br.Allow()
		p2, err2 := br.Allow()
		if err1 != nil || err2 != nil {
			t.Fatalf("probes refused: %v, %v", err1, err2)
		}
		oe := rejected(t, br, StateHalfOpen)
		if oe.Name != "db" || oe.RetryAfter() != DefaultMaxHalfOpen { // the probe period's end
			t.Errorf("half-open rejection %+v", oe)
		}
		if s := br.Snapshot(); s.Probes != 2 {
			t.Errorf("Probes = %d, want 2", s.Probes)
		}
		// An ignored probe gives its permit back.
		p1.Ignore()
		p3, err := br.Allow()
		if err != nil {
			t.Fatalf("permit not given back: %v", err)
		}
		p2.Success()
		p3.Success()
		wantState(t, br, StateClosed)
	})
}

// A probe that never returns must not wedge the breaker.
func TestMaxHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, HalfOpenCalls: 1, WaitDuration: time.Second,
			WaitMultiplier: 2, MaxHalfOpen: 5 * time.Second, OnStateChange: tr.listen})
		calls(t, br, 1, errBoom)
		time.Sleep(time.Second)
		synctest.Wait()
		hung, err := br.Allow()
		if err != nil {
			t.Fatal(err)
		}
		rejected(t, br, StateHalfOpen)
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		wantState(t, br, StateHalfOpen)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		wantState(t, br, StateOpen)
		if c := tr.last(); c.Cause != CauseHalfOpenTimeout || c.Until.Sub(c.At) != 2*time.Second {
			t.Errorf("reopened by %v for %v, want half-open-timeout for 2s", c.Cause, c.Until.Sub(c.At))
		}
		// The hung probe finally returns: it belongs to a past period.
		hung.Success()
		wantState(t, br, StateOpen)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		calls(t, br, 1, nil)
		wantState(t, br, StateClosed)
	})
}

// TestWaitGrowth checks the exponential wait, its cap, jitter and reset.
func TestWaitGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, HalfOpenCalls: 1,
			WaitDuration: time.Second, WaitMultiplier: 2, MaxWaitDuration: 5 * time.Second})
		calls(t, br, 1, errBoom)
		var got []time.Duration
		for range 5 {
			s := br.Snapshot()
			if s.State != StateOpen || !s.OpenUntil.Equal(time.Now().Add(s.Wait)) {
				t.Fatalf("snapshot %+v", s)
			}
			got = append(got, s.Wait)
			time.Sleep(s.Wait)
			synctest.Wait()
			wantState(t, br, StateHalfOpen)
			if want := min(2*s.Wait, 5*time.Second); br.Snapshot().Wait != want {
				t.Errorf("half-open Snapshot.Wait %v, want %v", br.Snapshot().Wait, want)
			}
			calls(t, br, 1, errBoom)
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
		if len(got) != len(want) {
			t.Fatalf("waits %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("waits %v, want %v", got, want)
			}
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		calls(t, br, 1, nil)
		wantState(t, br, StateClosed)
		if s := br.Snapshot(); s.Wait != time.Second {
			t.Errorf("closed: next wait %v, want the base 1s", s.Wait)
		}
		calls(t, br, 1, errBoom)
		if s := br.Snapshot(); s.Wait != time.Second {
			t.Errorf("reopened after closing for %v, want the base 1s", s.Wait)
		}
	})
}

func TestWaitJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: 10 * time.Second, WaitJitter: 0.5})
		seen := map[time.Duration]bool{}
		for range 20 {
			calls(t, br, 1, errBoom)
			s := br.Snapshot()
			if s.Wait < 5*time.Second || s.Wait > 10*time.Second {
				t.Fatalf("jittered wait %v outside [5s, 10s]", s.Wait)
			}
			seen[s.Wait] = true
			time.Sleep(s.Wait)
			synctest.Wait()
			wantState(t, br, StateHalfOpen)
			calls(t, br, 3, nil)
			wantState(t, br, StateClosed)
		}
		if len(seen) < 2 {
			t.Errorf("20 jittered waits all equal: %v", seen)
		}
	})
}
