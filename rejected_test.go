package bulwark_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

var errDown = errors.New("down")

// With default configs, Chain(retry, breaker, timeout) returns the open
// breaker's rejection at once: retry does not wait out the breaker's
// RetryAfter (30 s by default) nor retry a call that never ran.
func TestChainRetryBreakerTimeoutRejectsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br, _ := breaker.New(breaker.Config{})
		rt, _ := retry.New(retry.Config{})
		to, _ := timeout.New(timeout.Config{Duration: time.Second}) // Duration has no default
		p := bulwark.Chain(rt, br, to)
		ctx := context.Background()
		for range breaker.DefaultMinimumCalls {
			bulwark.Run(ctx, br, func(context.Context) error { return errDown })
		}
		if br.State() != breaker.StateOpen {
			t.Fatalf("breaker %v, want open", br.State())
		}
		start := time.Now()
		ran := 0
		err := bulwark.Run(ctx, p, func(context.Context) error { ran++; return nil })
		if !errors.Is(err, breaker.ErrOpen) || !errors.Is(err, bulwark.ErrRejected) {
			t.Fatalf("err %v, want breaker.ErrOpen matching bulwark.ErrRejected", err)
		}
		if d := time.Since(start); d != 0 || ran != 0 {
			t.Fatalf("took %v and ran the operation %d times, want an immediate rejection", d, ran)
		}
		if s := rt.Snapshot(); s.Retries != 0 {
			t.Fatalf("retry made %d retries of a rejection", s.Retries)
		}
	})
}

// A breaker around a full bulkhead does not count the bulkhead's
// rejections as the dependency's failures, unless told to.
func TestBreakerIgnoresLocalRejections(t *testing.T) {
	for _, count := range []bool{false, true} {
		br, _ := breaker.New(breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 3, CountRejected: count})
		bh, _ := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
		if !bh.TryAcquire() {
			t.Fatal("TryAcquire on an empty bulkhead")
		}
		p := bulwark.Chain(br, bh)
		for range 10 {
			err := bulwark.Run(context.Background(), p, func(context.Context) error { return nil })
			if !errors.Is(err, bulkhead.ErrFull) && !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("err %v", err)
			}
		}
		bh.Release()
		if got, want := br.State(), map[bool]breaker.State{false: breaker.StateClosed, true: breaker.StateOpen}[count]; got != want {
			t.Errorf("CountRejected=%v: breaker %v after 10 bulkhead rejections, want %v", count, got, want)
		}
	}
}

// retry.Config.RetryRejected opts back in: a rejection is retried after its
// RetryAfter.
func TestRetryRejectedOptIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br, _ := breaker.New(breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 1, WaitDuration: time.Second})
		rt, _ := retry.New(retry.Config{MaxAttempts: 2, RetryRejected: true})
		bulwark.Run(context.Background(), br, func(context.Context) error { return errDown })
		start := time.Now()
		if err := bulwark.Run(context.Background(), bulwark.Chain(rt, br), func(context.Context) error { return nil }); err != nil {
			t.Fatalf("err %v, want the retry to get through after the open wait", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("took %v, want 1s", d)
		}
	})
}

func TestLocalRejectionsMatchErrRejected(t *testing.T) {
	for _, err := range []error{
		&breaker.OpenError{}, &bulkhead.FullError{},
	} {
		if !errors.Is(err, bulwark.ErrRejected) {
			t.Errorf("%T does not match bulwark.ErrRejected", err)
		}
	}
	if errors.Is(errDown, bulwark.ErrRejected) || errors.Is(&timeout.ExceededError{}, bulwark.ErrRejected) {
		t.Error("a failure matches ErrRejected")
	}
}

func TestResultOf(t *testing.T) {
	type resp struct{ status int }
	failed := bulwark.ResultOf(func(r *resp) bool { return r.status >= 500 })
	for _, tc := range []struct {
		result any
		want   bool
	}{{&resp{503}, true}, {&resp{200}, false}, {"503", false}, {nil, false}} {
		if got := failed(tc.result); got != tc.want {
			t.Errorf("ResultOf(...)(%v) = %v, want %v", tc.result, got, tc.want)
		}
	}
	br, _ := breaker.New(breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 1, IsFailureResult: failed})
	bulwark.Get(context.Background(), br, func(context.Context) (*resp, error) { return &resp{503}, nil })
	if br.State() != breaker.StateOpen {
		t.Fatalf("a 503 result did not count as a failure: %v", br.State())
	}
}
