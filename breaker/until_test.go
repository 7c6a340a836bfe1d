package breaker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
	"github.com/bulwark-go/bulwark/retry"
)

// A caller that comes back at OpenError.Until is let through as a probe,
// whether or not the breaker's own timer has run yet.
func TestAdmittedAtUntil(t *testing.T) {
	for _, observed := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			c := Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: 20 * time.Millisecond}
			if observed {
				c.Observer = &eventlog.Recorder{}
			}
			br := mustNew(t, c)
			calls(t, br, 1, errBoom)
			oe := rejected(t, br, StateOpen)
			if got := oe.RetryAfter(); got != 20*time.Millisecond {
				t.Fatalf("RetryAfter %v, want 20ms", got)
			}
			time.Sleep(time.Until(oe.Until)) // wakes at the instant the breaker's timer is due
			if err := call(br, nil); err != nil {
				t.Fatalf("observer=%v: a call at Until: %v, want it admitted as a probe", observed, err)
			}
			p, err := br.Allow() // the next probe, through the two-step form
			if err != nil {
				t.Fatalf("observer=%v: Allow at Until: %v", observed, err)
			}
			p.Success()
		})
	}
}

// The property of issue 10, as a user meets it: a retry that waits out the
// open breaker's RetryAfter gets through.
func TestRetryWaitsOutOpenBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: 20 * time.Millisecond})
		rt, err := retry.New(retry.Config{MaxAttempts: 2, RetryRejected: true})
		if err != nil {
			t.Fatal(err)
		}
		p := bulwark.Chain(rt, br)
		calls(t, br, 1, errBoom)
		start := time.Now()
		n := 0
		err = bulwark.Run(context.Background(), p, func(context.Context) error { n++; return nil })
		if err != nil || n != 1 {
			t.Fatalf("got err=%v after %d calls, want the retry admitted as a probe", err, n)
		}
		if d := time.Since(start); d != 20*time.Millisecond {
			t.Errorf("took %v, want the 20ms open wait", d)
		}
		if errors.Is(err, ErrOpen) {
			t.Fatal("unreachable")
		}
	})
}

// Reconfiguring or switching to metrics-only during the open wait keeps its
// end: the wait still ends on time.
func TestOpenWaitEndsAfterReconfigure(t *testing.T) {
	for _, d := range []time.Duration{100 * time.Millisecond, 10 * time.Second} {
		synctest.Test(t, func(t *testing.T) {
			c := Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: d}
			br := mustNew(t, c)
			calls(t, br, 1, errBoom)
			until := rejected(t, br, StateOpen).Until
			time.Sleep(d * 3 / 4) // into the stretch where rejections read the clock
			c.Name = "renamed"
			if err := br.Reconfigure(c); err != nil {
				t.Fatal(err)
			}
			rejected(t, br, StateOpen)
			time.Sleep(time.Until(until))
			if err := call(br, nil); err != nil {
				t.Fatalf("wait %v: a call at Until after Reconfigure: %v", d, err)
			}
		})
	}
}

// Permit.Done treats the caller's cancellation as Execute does: not a
// failure.
func TestPermitDoneIgnoresCancellation(t *testing.T) {
	br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	bulwark.Run(ctx, br, func(ctx context.Context) error { return ctx.Err() })
	wantState(t, br, StateClosed)
	p, err := br.Allow()
	if err != nil {
		t.Fatal(err)
	}
	p.Done(fmt.Errorf("request: %w", context.Canceled))
	wantState(t, br, StateClosed)
	if s := br.Snapshot(); s.Ignored != 2 {
		t.Fatalf("ignored %d, want both cancellations ignored", s.Ignored)
	}
}

// A half-open breaker that turns a call away says when its probe period
// ends at the latest, instead of RetryAfter 0.
func TestHalfOpenRejectionRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: time.Second, HalfOpenCalls: 1, MaxHalfOpen: 10 * time.Second})
		calls(t, br, 1, errBoom)
		time.Sleep(time.Second)
		p, err := br.Allow() // the only probe
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		oe := rejected(t, br, StateHalfOpen)
		if got := oe.RetryAfter(); got != 7*time.Second {
			t.Fatalf("RetryAfter %v, want the 7s left of the probe period", got)
		}
		p.Success()
		wantState(t, br, StateClosed)
	})
}
