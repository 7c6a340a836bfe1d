package breaker

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

// TestManualStates checks ForceOpen, ForceClosed, Disable and Reset.
func TestManualStates(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set        func(*Breaker)
		want       State
		rejects    bool
		records    bool // calls land in the window
		opens      bool // failures can open it
		wantEvents int  // KindCall events for 20 failures
	}{
		{"forced open", (*Breaker).ForceOpen, StateForcedOpen, true, false, false, 0},
		{"forced closed", (*Breaker).ForceClosed, StateForcedClosed, false, true, false, 20},
		{"disabled", (*Breaker).Disable, StateDisabled, false, false, false, 0},
		{"reset", (*Breaker).Reset, StateClosed, false, true, true, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tr transitions
				var obs eventlog.Recorder
				br := mustNew(t, Config{Name: "db", OnStateChange: tr.listen, Observer: &obs})
				tc.set(br)
				tc.set(br) // setting the same state twice changes nothing
				wantState(t, br, tc.want)
				if tc.want != StateClosed {
					if got := tr.String(); got != "closed>"+tc.want.String()+"(manual)" {
						t.Errorf("transitions %q", got)
					}
				} else if got := tr.String(); got != "" {
					t.Errorf("reset of a closed breaker reported %q", got)
				}
				if tc.rejects {
					oe := rejected(t, br, StateForcedOpen)
					if !oe.Until.IsZero() || oe.RetryAfter() != 0 || oe.Name != "db" {
						t.Errorf("forced-open rejection %+v", oe)
					}
					if n := len(obs.Of(bulwark.KindRejected)); n != 1 {
						t.Errorf("%d KindRejected events, want 1", n)
					}
					time.Sleep(time.Hour)
					synctest.Wait()
					wantState(t, br, StateForcedOpen)
					return
				}
				reached := 0
				for range 20 {
					err := bulwark.Run(context.Background(), br, func(context.Context) error { reached++; return errBoom })
					if tc.opens && reached == 10 {
						break
					}
					if err != errBoom {
						t.Fatalf("call %d: %v", reached, err)
					}
				}
				s := br.Snapshot()
				switch {
				case tc.opens:
					wantState(t, br, StateOpen)
				case tc.records:
					wantState(t, br, tc.want)
					if s.Calls != 20 || s.Failures != 20 || s.FailureRate != 1 || s.ConsecutiveFailures != 20 {
						t.Errorf("forced closed did not record: %+v", s)
					}
				default:
					wantState(t, br, tc.want)
					if s.Calls != 0 || s.ConsecutiveFailures != 0 {
						t.Errorf("disabled recorded: %+v", s)
					}
				}
				if n := len(obs.Of(bulwark.KindCall)); n != tc.wantEvents {
					t.Errorf("%d KindCall events, want %d", n, tc.wantEvents)
				}
			})
		})
	}
}

func TestResetLeavesEveryState(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Breaker)
		from State
	}{
		{"open", func(br *Breaker) { br.OpenUntil(time.Now().Add(time.Hour)) }, StateOpen},
		{"half-open", func(br *Breaker) { br.OpenUntil(time.Now().Add(time.Second)); time.Sleep(time.Second); synctest.Wait() }, StateHalfOpen},
		{"forced open", (*Breaker).ForceOpen, StateForcedOpen},
		{"forced closed", (*Breaker).ForceClosed, StateForcedClosed},
		{"disabled", (*Breaker).Disable, StateDisabled},
		{"metrics only", (*Breaker).MetricsOnly, StateMetricsOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tr transitions
				br := mustNew(t, Config{WindowSize: 10, WaitMultiplier: 2, OnStateChange: tr.listen})
				calls(t, br, 4, errBoom)
				tc.set(br)
				wantState(t, br, tc.from)
				p, err := br.Allow() // in flight across the reset
				br.Reset()
				wantState(t, br, StateClosed)
				if c := tr.last(); c.From != tc.from || c.To != StateClosed || c.Cause != CauseManual {
					t.Errorf("last change %+v", c)
				}
				if err == nil {
					p.Failure()
				}
				s := br.Snapshot()
				if s.Calls != 0 || s.ConsecutiveFailures != 0 || s.Wait != 30*time.Second {
					t.Errorf("after reset %+v", s)
				}
				time.Sleep(time.Hour) // no timer of the old state fires
				synctest.Wait()
				wantState(t, br, StateClosed)
			})
		})
	}
}

func TestResetReturnsToConfiguredMetricsOnly(t *testing.T) {
	br := mustNew(t, Config{MetricsOnly: true})
	br.ForceOpen()
	br.Reset()
	wantState(t, br, StateMetricsOnly)
}

// TestMetricsOnly runs the state machine without enforcing it.
func TestMetricsOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var obs eventlog.Recorder
		var tr transitions
		br := mustNew(t, Config{MetricsOnly: true, WaitDuration: 10 * time.Second, Observer: &obs, OnStateChange: tr.listen})
		wantState(t, br, StateMetricsOnly)
		calls(t, br, 10, errBoom)
		s := br.Snapshot()
		if s.State != StateMetricsOnly || s.Shadow != StateOpen || !s.OpenUntil.Equal(time.Now().Add(10*time.Second)) {
			t.Fatalf("after 10 failures %+v", s)
		}
		calls(t, br, 5, errBoom) // it would reject these
		if n := len(obs.Of(bulwark.KindRejected)); n != 0 {
			t.Errorf("%d rejections reported", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if s := br.Snapshot(); s.Shadow != StateHalfOpen {
			t.Fatalf("after the wait %+v", s)
		}
		// Three probes decide; the calls beyond them go through uncounted.
		p := make([]Permit, 5)
		for i := range p {
			var err error
			if p[i], err = br.Allow(); err != nil {
				t.Fatal(err)
			}
		}
		if s := br.Snapshot(); s.Probes != 3 {
			t.Errorf("Probes = %d, want 3", s.Probes)
		}
		p[3].Failure()
		p[4].Failure()
		for _, q := range p[:3] {
			q.Success()
		}
		if s := br.Snapshot(); s.Shadow != StateClosed || s.State != StateMetricsOnly {
			t.Fatalf("after the probes %+v", s)
		}
		if got, want := changes(&obs), "closed>open~ open>half-open~ half-open>closed~"; got != want {
			t.Errorf("observed changes %q, want %q", got, want)
		}
		if n := len(obs.Of(bulwark.KindCall)); n != 20 {
			t.Errorf("%d KindCall events, want 20", n)
		}
		if got := tr.String(); got != "" {
			t.Errorf("listeners told of unenforced transitions: %s", got)
		}

		// Switching enforcement on keeps the state machine where it is.
		calls(t, br, 10, errBoom)
		if s := br.Snapshot(); s.Shadow != StateOpen {
			t.Fatalf("%+v", s)
		}
		if err := br.Reconfigure(Config{WaitDuration: 10 * time.Second, Observer: &obs, OnStateChange: tr.listen}); err != nil {
			t.Fatal(err)
		}
		wantState(t, br, StateOpen)
		if got := tr.String(); got != "metrics-only>open(reconfigure)" {
			t.Errorf("transitions %q", got)
		}
		rejected(t, br, StateOpen)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		wantState(t, br, StateHalfOpen)

		// MetricsOnly() from half-open keeps the probes; the window carries on.
		br.MetricsOnly()
		if s := br.Snapshot(); s.State != StateMetricsOnly || s.Shadow != StateHalfOpen {
			t.Fatalf("%+v", s)
		}
		calls(t, br, 3, nil)
		if s := br.Snapshot(); s.Shadow != StateClosed {
			t.Fatalf("%+v", s)
		}
		// From a manual state, metrics-only starts closed.
		br.ForceOpen()
		br.MetricsOnly()
		br.MetricsOnly()
		if s := br.Snapshot(); s.State != StateMetricsOnly || s.Shadow != StateClosed || s.Calls != 0 {
			t.Fatalf("%+v", s)
		}
	})
}

// TestOpenUntilAndCloseNow checks the outside-settable state.
func TestOpenUntilAndCloseNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		br := mustNew(t, Config{OnStateChange: tr.listen})
		now := time.Now()
		br.OpenUntil(now)                   // not in the future: nothing
		br.OpenUntil(now.Add(-time.Second)) // past: nothing
		wantState(t, br, StateClosed)

		br.OpenUntil(now.Add(10 * time.Second))
		wantState(t, br, StateOpen)
		c := tr.last()
		if c.Cause != CauseExternal || !c.Until.Equal(now.Add(10*time.Second)) || !c.At.Equal(now) {
			t.Errorf("change %+v", c)
		}
		if oe := rejected(t, br, StateOpen); oe.RetryAfter() != 10*time.Second {
			t.Errorf("RetryAfter %v", oe.RetryAfter())
		}
		// Moving the end of the open wait re-arms the timer.
		br.OpenUntil(now.Add(20 * time.Second))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		wantState(t, br, StateOpen)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		wantState(t, br, StateHalfOpen)

		br.CloseNow()
		wantState(t, br, StateClosed)
		if c := tr.last(); c.Cause != CauseExternal || c.From != StateHalfOpen {
			t.Errorf("change %+v", c)
		}
		n := len(tr.list)
		br.CloseNow() // already closed
		if len(tr.list) != n {
			t.Errorf("closing a closed breaker reported a change")
		}

		// Manual states win over the outside.
		br.ForceClosed()
		br.OpenUntil(time.Now().Add(time.Minute))
		wantState(t, br, StateForcedClosed)
		br.ForceOpen()
		br.CloseNow()
		wantState(t, br, StateForcedOpen)
	})
}

func TestReconfigure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustNew(t, Config{Name: "a", WindowSize: 20, MinimumCalls: 10})
		calls(t, br, 6, errBoom)
		calls(t, br, 3, nil)

		if err := br.Reconfigure(Config{WindowSize: -1}); err == nil || !errorNames(err, "WindowSize") {
			t.Fatalf("invalid reconfigure: %v", err)
		}
		if br.Name() != "a" {
			t.Fatal("failed reconfigure changed the breaker")
		}

		// Same window: the calls so far are kept; the new name shows.
		if err := br.Reconfigure(Config{Name: "b", WindowSize: 20, MinimumCalls: 10, WaitDuration: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if s := br.Snapshot(); s.Calls != 9 || s.Failures != 6 || s.Name != "b" {
			t.Fatalf("window lost: %+v", s)
		}
		calls(t, br, 1, nil) // 10 calls, 60% failures
		wantState(t, br, StateOpen)
		if oe := rejected(t, br, StateOpen); oe.Name != "b" || oe.RetryAfter() != time.Minute {
			t.Errorf("rejection %+v after %v", oe, oe.RetryAfter())
		}

		// While open: the open wait and its timer are kept.
		if err := br.Reconfigure(Config{Name: "c", WindowSize: 50, WaitDuration: time.Hour}); err != nil {
			t.Fatal(err)
		}
		wantState(t, br, StateOpen)
		if oe := rejected(t, br, StateOpen); oe.Name != "c" || oe.RetryAfter() != time.Minute {
			t.Errorf("rejection %+v after %v", oe, oe.RetryAfter())
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		wantState(t, br, StateHalfOpen)
		calls(t, br, 3, nil)
		wantState(t, br, StateClosed)
		if s := br.Snapshot(); s.WindowSize != 50 || s.Wait != time.Hour {
			t.Errorf("new config not applied: %+v", s)
		}

		// A new window size starts an empty window.
		calls(t, br, 5, errBoom)
		if err := br.Reconfigure(Config{Name: "c", WindowSize: 10, WaitDuration: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if s := br.Snapshot(); s.Calls != 0 {
			t.Errorf("window kept across a size change: %+v", s)
		}

		// A manual state is kept, whatever MetricsOnly says.
		br.ForceOpen()
		if err := br.Reconfigure(Config{MetricsOnly: true}); err != nil {
			t.Fatal(err)
		}
		wantState(t, br, StateForcedOpen)
		br.Reset()
		wantState(t, br, StateMetricsOnly)
	})
}

func errorNames(err error, field string) bool {
	return err != nil && strings.Contains(err.Error(), "Config."+field+" ")
}

// TestStalePermits: calls admitted before a state change are not counted
// after it.
func TestStalePermits(t *testing.T) {
	br := mustNew(t, Config{WindowSize: 10})
	old := make([]Permit, 10)
	for i := range old {
		var err error
		if old[i], err = br.Allow(); err != nil {
			t.Fatal(err)
		}
	}
	br.ForceOpen()
	br.Reset()
	for _, p := range old {
		p.Failure()
	}
	wantState(t, br, StateClosed)
	if s := br.Snapshot(); s.Calls != 0 {
		t.Errorf("stale permits recorded: %+v", s)
	}
}
