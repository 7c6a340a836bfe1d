package breaker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
)

// seedConfig is the example: open at 50% failures once 10 calls
// were seen, stay open 30 seconds, then test with 3 calls.
func seedConfig() Config {
	return Config{
		Name:                 "payments",
		FailureRateThreshold: 0.5,
		MinimumCalls:         10,
		WaitDuration:         30 * time.Second,
		HalfOpenCalls:        3,
	}
}

// TestSeedScenario: a dependency fails completely for 20 seconds and then
// recovers. A client calls every 100 ms for a minute. The breaker opens
// right after the 10th call, rejects for 30 seconds without reaching the
// dependency, probes with 3 calls and closes.
func TestSeedScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		c := seedConfig()
		c.OnStateChange = tr.listen
		br := mustNew(t, c)
		start := time.Now()
		down := start.Add(20 * time.Second)
		dependency := func(context.Context) (string, error) {
			if time.Now().Before(down) {
				return "", errBoom
			}
			return "ok", nil
		}

		reached, failed, rejections, succeeded := 0, 0, 0, 0
		firstRejection, lastRejection := time.Time{}, time.Time{}
		for i := range 600 { // calls at 0, 100ms, ..., 59.9s
			if i > 0 {
				time.Sleep(100 * time.Millisecond)
				synctest.Wait() // let a timer due now fire first
			}
			v, err := bulwark.Get(context.Background(), br, func(ctx context.Context) (string, error) {
				reached++
				return dependency(ctx)
			})
			var oe *OpenError
			switch {
			case err == nil && v == "ok":
				succeeded++
			case errors.Is(err, errBoom):
				failed++
			case errors.As(err, &oe) && errors.Is(err, ErrOpen):
				rejections++
				if firstRejection.IsZero() {
					firstRejection = time.Now()
					if want := 29*time.Second + 900*time.Millisecond; oe.RetryAfter() != want {
						t.Errorf("first rejection: retry after %v, want %v", oe.RetryAfter(), want)
					}
				}
				lastRejection = time.Now()
			default:
				t.Fatalf("call %d: %q, %v", i, v, err)
			}
		}

		opened := start.Add(900 * time.Millisecond) // the 10th call
		for _, check := range []struct {
			name      string
			got, want any
		}{
			{"calls that reached the dependency", reached, 10 + 291},
			{"failures", failed, 10},
			{"successes", succeeded, 291},
			{"rejections", rejections, 299},
			{"first rejection", firstRejection, opened.Add(100 * time.Millisecond)},
			{"last rejection", lastRejection, opened.Add(30*time.Second - 100*time.Millisecond)},
			{"transitions", tr.String(), "closed>open(failure-rate) open>half-open(wait-elapsed) half-open>closed(probes-passed)"},
			{"opened at", tr.list[0].At, opened},
			{"open until", tr.list[0].Until, opened.Add(30 * time.Second)},
			{"half-open at", tr.list[1].At, opened.Add(30 * time.Second)},
			{"closed at", tr.list[2].At, opened.Add(30*time.Second + 200*time.Millisecond)},
			{"final state", br.State(), StateClosed},
		} {
			if check.got != check.want {
				t.Errorf("%s: got %v, want %v", check.name, check.got, check.want)
			}
		}
	})
}

// TestNoAllocations pins the hot paths at zero allocations.
func TestNoAllocations(t *testing.T) {
	ctx := context.Background()
	ok := func(context.Context) (int, error) { return 1, nil }
	closed := mustNew(t, Config{})
	for range 200 {
		bulwark.Get(ctx, closed, ok)
	}
	open := mustNew(t, Config{})
	open.ForceOpen()
	slow := mustNew(t, Config{SlowCallDuration: time.Second, Window: WindowTime})
	forced := mustNew(t, Config{Window: WindowTime})
	forced.ForceClosed() // records failures, never opens
	observed := mustNew(t, Config{Observer: bulwark.ObserverFunc(func(bulwark.Event) {})})
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"closed Get", func() { bulwark.Get(ctx, closed, ok) }},
		{"closed Allow/Done", func() { p, _ := closed.Allow(); p.Done(nil) }},
		{"closed Allow/Finish", func() { p, _ := closed.Allow(); p.Finish(ctx, nil, nil) }},
		{"open Get", func() { bulwark.Get(ctx, open, ok) }},
		{"open Allow", func() { open.Allow() }},
		{"timed time window", func() { bulwark.Get(ctx, slow, ok) }},
		{"failure", func() { p, _ := forced.Allow(); p.Failure() }},
		{"observed", func() { bulwark.Get(ctx, observed, ok) }},
	} {
		if n := testing.AllocsPerRun(100, tc.fn); n != 0 {
			t.Errorf("%s: %v allocations per call", tc.name, n)
		}
	}
}
