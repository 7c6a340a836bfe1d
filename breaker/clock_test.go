package breaker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/clocktest"
)

// A breaker on a virtual clock waits, times its window and reports
// RetryAfter on that clock only.
func TestVirtualClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	tr := &transitions{}
	br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 2, WaitDuration: time.Minute, OnStateChange: tr.listen, Clock: clk})
	calls(t, br, 2, errBoom)
	oe := rejected(t, br, StateOpen)
	if !oe.Until.Equal(start.Add(time.Minute)) || oe.RetryAfter() != time.Minute {
		t.Fatalf("Until %v RetryAfter %v, want +1m on the virtual clock", oe.Until, oe.RetryAfter())
	}
	clk.Advance(59 * time.Second)
	if got := rejected(t, br, StateOpen).RetryAfter(); got != time.Second {
		t.Fatalf("RetryAfter %v after 59s, want 1s", got)
	}
	clk.Advance(time.Second) // the timer fires as the clock reaches Until
	wantState(t, br, StateHalfOpen)
	if c := tr.last(); c.Cause != CauseWaitElapsed || !c.At.Equal(start.Add(time.Minute)) {
		t.Fatalf("last change %+v", c)
	}
	calls(t, br, 3, nil)
	wantState(t, br, StateClosed)
	if s := br.Snapshot(); !s.Since.Equal(start.Add(time.Minute)) {
		t.Fatalf("Since %v", s.Since)
	}
}

// With Config.Rand set, the jittered open waits come from that source: the
// wait is WaitDuration shortened by the source's Float64 times WaitJitter,
// so the same source gives the same waits.
func TestWaitJitterFromRand(t *testing.T) {
	const wait, jitter = 10 * time.Second, 0.5
	want := rand.New(rand.NewPCG(1, 2))
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, WaitDuration: wait,
		WaitJitter: jitter, Rand: rand.NewPCG(1, 2), Clock: clk})
	for i := range 20 {
		calls(t, br, 1, errBoom)
		got := br.Snapshot().Wait
		if w := wait - time.Duration(want.Float64()*jitter*float64(wait)); got != w {
			t.Fatalf("opening %d: wait %v, want %v from the source", i+1, got, w)
		}
		clk.Advance(got)
		wantState(t, br, StateHalfOpen)
		calls(t, br, 3, nil)
		wantState(t, br, StateClosed)
	}
}
