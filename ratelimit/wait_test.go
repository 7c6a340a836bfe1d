package ratelimit

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

func TestReserveAndCancel(t *testing.T) {
	l := mustNew(t, Config{Rate: 10})
	t0 := l.base
	r1 := l.ReserveN(t0, 1)
	r2 := l.ReserveN(t0, 1)
	r3 := l.ReserveN(t0, 1)
	for i, tt := range []struct {
		r    Reservation
		want time.Duration
	}{{r1, 0}, {r2, 100 * ms}, {r3, 200 * ms}} {
		if !tt.r.OK() || tt.r.DelayFrom(t0) != tt.want {
			t.Errorf("reservation %d: OK %v, delay %v; want OK, %v", i+1, tt.r.OK(), tt.r.DelayFrom(t0), tt.want)
		}
	}
	if got := r3.DelayFrom(t0.Add(150 * ms)); got != 50*ms {
		t.Errorf("DelayFrom(+150ms) = %v, want 50ms", got)
	}
	// Cancelling the last reservation gives its slot back...
	r3.CancelAt(t0)
	if got := l.ReserveN(t0, 1).DelayFrom(t0); got != 200*ms {
		t.Errorf("after a cancel, the next reservation waits %v, want 200ms", got)
	}
	// ...once only.
	r3.CancelAt(t0)
	if got := l.ReserveN(t0, 1).DelayFrom(t0); got != 300*ms {
		t.Errorf("a second cancel gave back again: next wait %v, want 300ms", got)
	}
	// A reservation whose time has come cannot be cancelled.
	r2.CancelAt(t0.Add(100 * ms))
	if got := l.ReserveN(t0.Add(100*ms), 1).DelayFrom(t0.Add(100 * ms)); got != 300*ms {
		t.Errorf("cancelling a due reservation gave back: next wait %v, want 300ms", got)
	}
	// More than the burst can never be reserved.
	r := l.ReserveN(t0, 2)
	if r.OK() || r.DelayFrom(t0) != Never {
		t.Errorf("ReserveN(2) with burst 1: OK %v, delay %v; want !OK, Never", r.OK(), r.DelayFrom(t0))
	}
	r.CancelAt(t0) // harmless
	if s := l.Snapshot(); s.Allowed != 6 || s.Rejected != 1 {
		t.Errorf("Snapshot %+v, want 6 allowed, 1 rejected", s)
	}
	var zero Reservation
	zero.Cancel()
	if zero.OK() || zero.Delay() != Never {
		t.Error("the zero Reservation is OK")
	}
}

func TestCancelOfADueReservationGivesNothingBack(t *testing.T) {
	l := mustNew(t, Config{Rate: 10, Burst: 2})
	t0 := l.base
	r := l.ReserveN(t0, 2) // the whole burst, due at once
	if !r.OK() || r.DelayFrom(t0) != 0 {
		t.Fatalf("reservation delay %v, want 0", r.DelayFrom(t0))
	}
	r.CancelAt(t0)
	if l.AllowAt(t0) {
		t.Fatal("a due reservation was given back")
	}
	// Two reservations of the whole burst: the second is due at +200ms.
	// Cancelled at +150ms it gives exactly its two events back.
	r = l.ReserveN(t0, 2)
	if got := r.DelayFrom(t0); got != 200*ms {
		t.Fatalf("second reservation delay %v, want 200ms", got)
	}
	r.CancelAt(t0.Add(150 * ms))
	if !l.AllowAt(t0.Add(200*ms)) || !l.AllowAt(t0.Add(200*ms)) || l.AllowAt(t0.Add(200*ms)) {
		t.Error("want exactly the burst of 2 at +200ms")
	}
}

func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		l := mustNew(t, Config{Name: "w", Rate: 10, Observer: rec})
		ctx := context.Background()
		start := time.Now()
		for range 3 {
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 200*ms {
			t.Errorf("three waits took %v, want 200ms", got)
		}
		ev := rec.Events()
		if len(ev) != 2 || ev[0].Kind != bulwark.KindWait || ev[0].Delay != 100*ms || ev[1].Delay != 100*ms {
			t.Errorf("events %+v, want two KindWait of 100ms", ev)
		}
		if s := l.Snapshot(); s.Allowed != 3 || s.Rejected != 0 {
			t.Errorf("Snapshot %+v, want 3 allowed", s)
		}
	})
}

// Wait does not sleep when its turn would come at or after the deadline.
func TestWaitRefusesAtOnceWhenTheDeadlineIsTooNear(t *testing.T) {
	for _, deadline := range []time.Duration{50 * ms, 100 * ms} {
		synctest.Test(t, func(t *testing.T) {
			l := mustNew(t, Config{Rate: 10})
			l.Allow()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := l.Wait(ctx)
			var le *LimitedError
			if !errors.As(err, &le) || le.Delay != 100*ms {
				t.Fatalf("deadline %v: Wait = %v, want a *LimitedError with Delay 100ms", deadline, err)
			}
			if got := time.Since(start); got != 0 {
				t.Errorf("deadline %v: returned after %v, want at once", deadline, got)
			}
			if s := l.Snapshot(); s.Rejected != 1 || s.Tokens != 0 {
				t.Errorf("deadline %v: Snapshot %+v; the refusal must take nothing", deadline, s)
			}
		})
	}
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Config{Rate: 10})
		l.Allow()
		ctx, cancel := context.WithTimeout(context.Background(), 100*ms+1)
		defer cancel()
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("with 1ns to spare: %v", err)
		}
	})
}

func TestWaitCancelledGivesTheEventBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Config{Rate: 10})
		l.Allow()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(30 * ms)
			cancel()
		}()
		if err := l.Wait(ctx); err != context.Canceled {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
		// The slot at 100ms is free again: a new caller at 30ms waits 70ms.
		start := time.Now()
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 70*ms {
			t.Errorf("next Wait took %v, want 70ms", got)
		}
		if err := l.Wait(ctx); err != context.Canceled {
			t.Errorf("Wait with a done context = %v, want context.Canceled", err)
		}
		if s := l.Snapshot(); s.Allowed != 2 {
			t.Errorf("Allowed = %d, want 2 (the cancelled wait is not counted)", s.Allowed)
		}
	})
}

func TestWaitNBeyondTheBurst(t *testing.T) {
	l := mustNew(t, Config{Rate: 10, Burst: 2})
	err := l.WaitN(context.Background(), 3)
	var le *LimitedError
	if !errors.As(err, &le) || le.Delay != Never {
		t.Fatalf("WaitN(3) with burst 2 = %v, want a *LimitedError with Delay Never", err)
	}
	u := mustNew(t, Config{Rate: math.Inf(1)})
	if err := u.WaitN(context.Background(), 1000); err != nil {
		t.Fatalf("unlimited WaitN: %v", err)
	}
}

func TestSetLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Config{Rate: 10, Burst: 10})
		for range 10 {
			l.Allow()
		}
		// Lowering the rate keeps the events available (none), instead of
		// turning the second already owed into a ten-second burst.
		if err := l.SetRate(1); err != nil {
			t.Fatal(err)
		}
		if l.Allow() {
			t.Fatal("admitted right after lowering the rate")
		}
		time.Sleep(time.Second)
		if !l.Allow() || l.Allow() {
			t.Fatal("want exactly one event after a second at 1/s")
		}
		if s := l.Snapshot(); s.Rate != 1 || s.Burst != 10 {
			t.Fatalf("Snapshot %+v, want rate 1, burst 10", s)
		}
		time.Sleep(time.Hour) // full: 10 available
		if err := l.SetBurst(4); err != nil {
			t.Fatal(err)
		}
		if got := l.Snapshot().Tokens; got != 4 {
			t.Fatalf("Tokens after lowering the burst to 4 = %v, want 4", got)
		}
		if err := l.SetBurst(8); err != nil {
			t.Fatal(err)
		}
		if got := l.Snapshot().Tokens; got != 4 {
			t.Fatalf("Tokens after raising the burst to 8 = %v, want 4 (kept, then refilling)", got)
		}
		time.Sleep(4 * time.Second)
		if got := l.Snapshot().Tokens; got != 8 {
			t.Fatalf("Tokens 4s later = %v, want 8", got)
		}
		// Unlimited and back.
		if err := l.SetRate(math.Inf(1)); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if !l.Allow() {
				t.Fatal("refused while unlimited")
			}
		}
		if err := l.SetLimit(2, 1); err != nil {
			t.Fatal(err)
		}
		if !l.Allow() || l.Allow() {
			t.Fatal("want one event, then a refusal, at 2/s with burst 1")
		}
		// Bad values change nothing.
		for _, err := range []error{l.SetRate(-1), l.SetBurst(-2), l.SetLimit(math.NaN(), 1), l.SetRate(2e9)} {
			if err == nil {
				t.Error("SetLimit accepted a bad value")
			}
		}
		if s := l.Snapshot(); s.Rate != 2 || s.Burst != 1 {
			t.Fatalf("Snapshot %+v after bad changes, want rate 2, burst 1", s)
		}
	})
}

func TestSetBurstKeepsAnExactInterval(t *testing.T) {
	l := mustNew(t, Config{Limit: 7, Per: time.Minute})
	before := l.limits.Load().interval
	if err := l.SetBurst(3); err != nil {
		t.Fatal(err)
	}
	if after := l.limits.Load().interval; after != before {
		t.Errorf("interval %d after SetBurst, was %d", after, before)
	}
}

// Changing the limit while others call: no race, no lost update.
func TestSetLimitConcurrently(t *testing.T) {
	l := mustNew(t, Config{Rate: 1000, Burst: 10})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if err := l.SetLimit(float64(100+i), 1+i%20); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 2000 {
		l.Allow()
		l.Check()
	}
	<-done
	if s := l.Snapshot(); s.Rate != 299 || s.Burst != 20 || s.Allowed+s.Rejected != 4000 {
		t.Errorf("Snapshot %+v, want rate 299, burst 20, 4000 decisions", s)
	}
}

// Cancelling a reservation that later reservations depend on gives back
// only what they do not depend on, as golang.org/x/time/rate does: with
// Rate 1 and Burst 1, three reservations due at +1s, +2s and +3s, cancelling
// the first and reserving again must not put two events at +3s.
func TestCancelKeepsLaterReservations(t *testing.T) {
	l := mustNew(t, Config{Rate: 1})
	t0 := l.base
	if !l.AllowAt(t0) {
		t.Fatal("first event refused")
	}
	var rs [3]Reservation
	for i := range rs {
		rs[i] = l.ReserveN(t0, 1)
		if want := time.Duration(i+1) * time.Second; rs[i].DelayFrom(t0) != want {
			t.Fatalf("reservation %d due in %v, want %v", i+1, rs[i].DelayFrom(t0), want)
		}
	}
	rs[0].CancelAt(t0)
	r := l.ReserveN(t0, 1)
	if got := r.DelayFrom(t0); got != 4*time.Second {
		t.Errorf("after cancelling the first of three, a new reservation is due in %v, want 4s (3s is taken)", got)
	}
	// Cancelling the last one gives back its whole slot, and then the one
	// before it, now last, gives back its own.
	r.CancelAt(t0)
	rs[2].CancelAt(t0)
	if got := l.ReserveN(t0, 1).DelayFrom(t0); got != 3*time.Second {
		t.Errorf("after cancelling the last two, a new reservation is due in %v, want 3s", got)
	}
}

// A reservation of several events with later ones after it gives back the
// part they do not depend on.
func TestCancelGivesBackThePartNoOneDependsOn(t *testing.T) {
	l := mustNew(t, Config{Rate: 10, Burst: 3})
	t0 := l.base
	l.AllowN(t0, 3)
	big := l.ReserveN(t0, 3)   // due at +300ms
	small := l.ReserveN(t0, 1) // due at +400ms
	if big.DelayFrom(t0) != 300*ms || small.DelayFrom(t0) != 400*ms {
		t.Fatalf("delays %v and %v, want 300ms and 400ms", big.DelayFrom(t0), small.DelayFrom(t0))
	}
	// small depends on one of big's three events: two come back, and the
	// next reservation is due where big was, +300ms (x/time/rate says the
	// same), not earlier.
	big.CancelAt(t0)
	if got := l.ReserveN(t0, 1).DelayFrom(t0); got != 300*ms {
		t.Errorf("next reservation due in %v, want 300ms", got)
	}
}

// A Wait cancelled while another waits behind it gives back nothing that
// the later wait depends on.
func TestCancelledWaitKeepsLaterWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Config{Rate: 1})
		l.Allow()
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() { first <- l.Wait(ctx) }() // due at +1s
		synctest.Wait()
		second := make(chan time.Duration, 1)
		start := time.Now()
		go func() { // due at +2s
			l.Wait(context.Background())
			second <- time.Since(start)
		}()
		synctest.Wait()
		cancel()
		if err := <-first; err != context.Canceled {
			t.Fatalf("first Wait = %v, want context.Canceled", err)
		}
		r := l.Reserve()
		if got := r.Delay(); got != 3*time.Second {
			t.Errorf("a reservation after the cancelled wait is due in %v, want 3s (2s is the second wait's)", got)
		}
		if got := <-second; got != 2*time.Second {
			t.Errorf("second Wait took %v, want 2s", got)
		}
	})
}
