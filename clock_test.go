package bulwark_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/clocktest"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// Retry backoff, per-attempt timeouts and the breaker's open wait all run
// on one virtual clock, which the test moves from timer to timer.
func TestChainOnVirtualClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	rt, _ := retry.New(retry.Config{MaxAttempts: 4, Backoff: retry.Constant{Interval: time.Second}, Clock: clk})
	br, _ := breaker.New(breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 2, WaitDuration: time.Minute, Clock: clk})
	to, _ := timeout.New(timeout.Config{Duration: 5 * time.Second, Clock: clk})
	p := bulwark.Chain(rt, br, to)

	type seen struct {
		attempt int
		at      time.Duration
	}
	var log []seen
	started := make(chan struct{}, 4)
	hang := func(ctx context.Context) error { // the first two attempts hang until their timeout
		log = append(log, seen{bulwark.Attempt(ctx), clk.Now().Sub(start)})
		started <- struct{}{}
		if bulwark.Attempt(ctx) <= 2 {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // real time: a bound on the test
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- bulwark.Run(ctx, p, hang) }()

	// Attempt 1 times out at 5s; the retry waits 1s; attempt 2 times out at
	// 11s and opens the breaker; attempt 3 at 12s is rejected, and returned
	// at once (a local rejection is not retried).
	// Before the last step two timers wait: the retry's backoff and the
	// breaker's open wait.
	for i, timers := range []int{1, 1, 1, 2} {
		if i == 0 || i == 2 { // an attempt starts: let it read the clock first
			<-started
		}
		if err := clk.WaitForTimers(ctx, timers); err != nil {
			t.Fatal(err)
		}
		clk.AdvanceToNext()
	}
	err := <-done
	if !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("err %v, want the open breaker's rejection", err)
	}
	want := []seen{{1, 0}, {2, 6 * time.Second}}
	if len(log) != len(want) || log[0] != want[0] || log[1] != want[1] {
		t.Fatalf("attempts %v, want %v", log, want)
	}
	if got := clk.Now().Sub(start); got != 12*time.Second {
		t.Fatalf("virtual time %v, want 12s", got)
	}
	clk.Advance(time.Minute) // the open wait ends on the clock: 12s + 1m - 11s
	if br.State() != breaker.StateHalfOpen {
		t.Fatalf("breaker %v after its wait on the virtual clock, want half-open", br.State())
	}
	if err := bulwark.Run(ctx, p, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("probe: %v", err)
	}
}

func TestAttemptFromHedge(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h, err := hedge.New(hedge.Config{Delay: time.Second, MaxHedges: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan int, 2)
	res := make(chan int, 1)
	go func() {
		n, _ := bulwark.Get(ctx, h, func(ctx context.Context) (int, error) {
			n := bulwark.Attempt(ctx)
			got <- n
			if n == 1 {
				<-ctx.Done() // the first attempt hangs: the hedge wins
				return 0, ctx.Err()
			}
			return n, nil
		})
		res <- n
	}()
	if n := <-got; n != 1 {
		t.Fatalf("first attempt sees Attempt %d", n)
	}
	clk.WaitForTimers(ctx, 1)
	clk.Advance(time.Second)
	if n := <-res; n != 2 {
		t.Fatalf("hedged attempt returned %d, want Attempt 2", n)
	}
	if bulwark.Attempt(context.Background()) != 1 {
		t.Fatal("Attempt outside a policy is not 1")
	}
}

func TestBulkheadAndRateLimitOnVirtualClock(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	bh, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxWait: time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if !bh.TryAcquire() {
		t.Fatal("TryAcquire on an empty bulkhead")
	}
	waited := make(chan error, 1)
	go func() { waited <- bh.Acquire(ctx) }()
	clk.WaitForTimers(ctx, 1)
	clk.Advance(time.Second)
	if err := <-waited; !errors.Is(err, bulkhead.ErrFull) {
		t.Fatalf("Acquire after MaxWait on the virtual clock: %v, want ErrFull", err)
	}
	bh.Release()

	lim, err := ratelimit.New(ratelimit.Config{Limit: 1, Per: time.Second, Burst: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if !lim.Allow() || lim.Allow() {
		t.Fatal("want one event of the burst, then a refusal")
	}
	clk.Advance(time.Second)
	if !lim.Allow() {
		t.Fatal("no event allowed a virtual second later")
	}
}
