package clock_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/clocktest"
	"github.com/bulwark-go/bulwark/internal/clock"
)

var errCause = errors.New("cause")

func TestWithTimeoutOnVirtualClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	ctx, cancel := clock.WithTimeout(context.Background(), clk, time.Second, errCause)
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || !dl.Equal(start.Add(time.Second)) {
		t.Fatalf("Deadline %v %v", dl, ok)
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	clk.Advance(999 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatal("ended early")
	}
	clk.Advance(time.Millisecond)
	<-child.Done()
	if ctx.Err() != context.DeadlineExceeded || context.Cause(ctx) != errCause || context.Cause(child) != errCause {
		t.Fatalf("Err %v, Cause %v, child's Cause %v", ctx.Err(), context.Cause(ctx), context.Cause(child))
	}

	// Cancelled first: Canceled, and the timer no longer fires.
	ctx2, cancel2 := clock.WithTimeout(context.Background(), clk, time.Second, errCause)
	cancel2()
	clk.Advance(time.Hour)
	if ctx2.Err() != context.Canceled || clk.Timers() != 0 {
		t.Fatalf("Err %v, timers %d", ctx2.Err(), clk.Timers())
	}
}

func TestNilClockIsRealTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := clock.WithTimeout(context.Background(), nil, time.Hour, errCause)
		defer cancel()
		if dl, ok := ctx.Deadline(); !ok || dl.Sub(start) != time.Hour {
			t.Fatalf("Deadline %v %v", dl, ok)
		}
		if err := clock.Sleep(context.Background(), nil, time.Minute); err != nil || time.Since(start) != time.Minute {
			t.Fatalf("Sleep: %v after %v", err, time.Since(start))
		}
	})
}
