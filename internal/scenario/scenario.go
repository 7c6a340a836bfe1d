// Package scenario plays one scripted story through bulwark's real policies,
// so that the Prometheus and OpenTelemetry exporters can each check the exact
// figures they report for it, and the deploy tests can learn every metric
// name the exporters register.
//
// The story must run inside a testing/synctest bubble: its waits are
// virtual.
package scenario

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/recovery"
	"github.com/bulwark-go/bulwark/retry"
)

// An Exporter is what the story reports to.
type Exporter struct {
	Observer bulwark.Observer
	Watch    func(policies ...any) error
	Pipeline func(name string, p bulwark.Policy) bulwark.Policy
}

// The checkpoints at which Run calls check, in order.
const (
	// BreakerOpen: breaker "db" saw 4 failures in a window of 4 and opened,
	// then rejected 1 call.
	BreakerOpen = "breaker open"
	// BreakerClosed: 10 s later one probe succeeded and "db" closed again.
	BreakerClosed = "breaker closed"
	// Retried: retry "api" ran one call that succeeded on its third attempt
	// and one that failed three times and gave up: 2 calls, 4 retries,
	// 1 exhausted, 6 attempts.
	Retried = "retried"
	// BulkheadFull: bulkhead "pool" (2 permits) has both in use and has
	// rejected 1 call.
	BulkheadFull = "bulkhead full"
	// Recovered: recovery "worker" turned 1 panic into an error.
	Recovered = "recovered"
	// End: the bulkhead's holders finished (2 successes) and pipeline
	// "checkout" (retry "api" around breaker "db") ran 2 calls, one taking
	// 30 ms and one 250 ms.
	End = "end"
)

// ErrDown is the error of the story's failing dependency.
var ErrDown = errors.New("scenario: dependency down")

// Run plays the story, reporting to x, and calls check at each checkpoint.
// It must be called inside a synctest bubble.
func Run(t *testing.T, x Exporter, check func(point string)) {
	t.Helper()
	ctx := t.Context()
	br, err := breaker.New(breaker.Config{
		Name: "db", WindowSize: 4, MinimumCalls: 4, FailureRateThreshold: 0.5,
		WaitDuration: 10 * time.Second, HalfOpenCalls: 1, Observer: x.Observer,
	})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := retry.New(retry.Config{
		Name: "api", MaxAttempts: 3, Backoff: retry.Constant{Interval: 100 * time.Millisecond}, Observer: x.Observer,
	})
	if err != nil {
		t.Fatal(err)
	}
	bh, err := bulkhead.New(bulkhead.Config{Name: "pool", MaxConcurrent: 2, Observer: x.Observer})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recovery.New(recovery.Config{
		Name: "worker", Observer: x.Observer, Logger: slog.New(slog.DiscardHandler), OnPanic: func(*recovery.PanicError) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Watch(br, rt, bh, rec); err != nil {
		t.Fatal(err)
	}
	down := func(ctx context.Context) error { return ErrDown }
	up := func(ctx context.Context) error { return nil }

	// The breaker opens and rejects.
	for range 4 {
		if err := bulwark.Run(ctx, br, down); !errors.Is(err, ErrDown) {
			t.Fatalf("breaker call: %v, want ErrDown", err)
		}
	}
	if err := bulwark.Run(ctx, br, up); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("call to the open breaker: %v, want ErrOpen", err)
	}
	check(BreakerOpen)

	// The wait passes; a probe succeeds and the breaker closes.
	time.Sleep(10 * time.Second)
	synctest.Wait()
	if err := bulwark.Run(ctx, br, up); err != nil {
		t.Fatalf("probe: %v", err)
	}
	synctest.Wait()
	if s := br.State(); s != breaker.StateClosed {
		t.Fatalf("breaker state after the probe: %v, want closed", s)
	}
	check(BreakerClosed)

	// Retries: one call recovers on its third attempt, one gives up.
	failures := 2
	flaky := func(ctx context.Context) error {
		if failures > 0 {
			failures--
			return ErrDown
		}
		return nil
	}
	if err := bulwark.Run(ctx, rt, flaky); err != nil {
		t.Fatalf("flaky call: %v", err)
	}
	if err := bulwark.Run(ctx, rt, down); !errors.Is(err, ErrDown) {
		t.Fatalf("failing call: %v, want ErrDown", err)
	}
	check(Retried)

	// The bulkhead fills: two holders, one rejected call.
	release := make(chan struct{})
	done := make(chan error, 2)
	for range 2 {
		go func() {
			done <- bulwark.Run(ctx, bh, func(ctx context.Context) error { <-release; return nil })
		}()
	}
	synctest.Wait()
	if err := bulwark.Run(ctx, bh, up); !errors.Is(err, bulkhead.ErrFull) {
		t.Fatalf("call to the full bulkhead: %v, want ErrFull", err)
	}
	check(BulkheadFull)
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("holder: %v", err)
		}
	}

	// A panic is recovered.
	err = bulwark.Run(ctx, rec, func(ctx context.Context) error { panic("scenario: kaput") })
	if !errors.Is(err, recovery.ErrPanic) {
		t.Fatalf("panicking call: %v, want recovery.ErrPanic", err)
	}
	check(Recovered)

	// A timed pipeline.
	p := x.Pipeline("checkout", bulwark.Chain(rt, br))
	for _, d := range []time.Duration{30 * time.Millisecond, 250 * time.Millisecond} {
		if err := bulwark.Run(ctx, p, func(ctx context.Context) error { time.Sleep(d); return nil }); err != nil {
			t.Fatalf("pipeline call: %v", err)
		}
	}
	check(End)
}
