package chaos

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/clocktest"
)

// execute runs in.Execute(ctx, op) on a goroutine of its own and returns a
// channel that receives its error.
func execute(ctx context.Context, in *Injector, op *ok) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := in.Execute(ctx, op)
		done <- err
	}()
	return done
}

// An injected delay runs on Config.Clock: the call goes on when the clock
// has moved the whole latency, however little real time passed.
func TestLatencyOnVirtualClock(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	in, err := New(Config{Faults: []Fault{Latency(1, time.Hour)}, Enabled: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // real time: a bound on the test
	defer cancel()
	op := &ok{}
	done := execute(context.Background(), in, op)
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("no delay started on the virtual clock: %v", err)
	}
	clk.Advance(time.Hour - time.Nanosecond)
	select {
	case err := <-done:
		t.Fatalf("returned (%v) before the virtual hour passed", err)
	default:
	}
	if op.runs.Load() != 0 {
		t.Fatal("op ran during the delay")
	}
	clk.Advance(time.Nanosecond)
	select {
	case err := <-done:
		if err != nil || op.runs.Load() != 1 {
			t.Fatalf("err %v, runs %d; want nil after the delay, and one run", err, op.runs.Load())
		}
	case <-ctx.Done():
		t.Fatal("still waiting after the virtual clock passed the delay")
	}
}

// A call whose context ends during a delay on Config.Clock returns the
// context's error at once and leaves no timer on the clock.
func TestLatencyOnVirtualClockHonoursContext(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	in, _ := New(Config{Faults: []Fault{Latency(1, time.Hour)}, Enabled: true, Clock: clk})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	callCtx, stop := context.WithCancel(context.Background())
	op := &ok{}
	done := execute(callCtx, in, op)
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("no delay started on the virtual clock: %v", err)
	}
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || op.runs.Load() != 0 {
			t.Fatalf("err %v, runs %d; want context.Canceled and no run", err, op.runs.Load())
		}
	case <-ctx.Done():
		t.Fatal("still waiting after the caller's context ended")
	}
	if n := clk.Timers(); n != 0 {
		t.Errorf("%d timers left on the clock, want 0", n)
	}
}
