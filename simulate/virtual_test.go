package simulate

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// With a VirtualClock, a policy-free target whose only waits are the
// dependency's runs in virtual time and repeats byte for byte.
func TestVirtualClockRuns(t *testing.T) {
	runOnce := func() []byte {
		c := NewVirtualClock(time.Unix(0, 0))
		s, err := New(outage(), Options{Runtime: c})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Run(context.Background(), TargetFunc(func(ctx context.Context, dep *Dependency) (string, bool) {
			if err := dep.Call(ctx); err != nil {
				return "error", false
			}
			return "ok", true
		}))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Now().Sub(time.Unix(0, 0)); got < 20*time.Second {
			t.Errorf("the clock moved %v, want the scenario's 20s and more", got)
		}
		if res.Summary.Shares["error"] < 0.2 || res.Summary.Shares["error"] > 0.3 {
			t.Errorf("error share = %v, want the outage's quarter", res.Summary.Shares["error"])
		}
		var b bytes.Buffer
		res.WriteJSON(&b)
		return b.Bytes()
	}
	start := time.Now()
	a, b := runOnce(), runOnce()
	if !bytes.Equal(a, b) {
		t.Error("two runs differ")
	}
	t.Logf("two 20 s runs in %v", time.Since(start))
}

func TestVirtualTimers(t *testing.T) {
	c := NewVirtualClock(time.Unix(0, 0))
	var order []int
	c.AfterFunc(2*time.Second, func() { order = append(order, 2) })
	c.AfterFunc(time.Second, func() { order = append(order, 1) })
	stopped := c.AfterFunc(time.Second, func() { order = append(order, 99) })
	tm := c.NewTimer(3 * time.Second)
	if !stopped.Stop() {
		t.Error("Stop of a pending timer = false")
	}
	c.Sleep(2500 * time.Millisecond)
	if len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Errorf("fired %v, want [1 2]", order)
	}
	select {
	case <-tm.C():
		t.Error("3s timer fired at 2.5s")
	default:
	}
	c.Sleep(time.Second)
	if got := <-tm.C(); !got.Equal(time.Unix(3, 0)) {
		t.Errorf("timer sent %v, want 3s", got)
	}
}

// Sleep settles after every timer it fires: a goroutine woken by a timer
// has run, and blocked again, before the clock moves on to the next one.
func TestVirtualSleepSettlesAfterEachTimer(t *testing.T) {
	c := NewVirtualClock(time.Unix(0, 0))
	first := c.NewTimer(time.Second)
	c.AfterFunc(2*time.Second, func() {})
	woke := make(chan time.Time, 1)
	go func() {
		<-first.C()
		woke <- c.Now()
	}()
	c.Settle() // the goroutine is waiting on the timer
	c.Sleep(3 * time.Second)
	select {
	case got := <-woke:
		if !got.Equal(time.Unix(1, 0)) {
			t.Errorf("the goroutine woken at 1s read %v, want 1s", got.Sub(time.Unix(0, 0)))
		}
	default:
		t.Error("the goroutine woken at 1s had not run when Sleep returned")
	}
	if got := c.Now(); !got.Equal(time.Unix(3, 0)) {
		t.Errorf("Now after Sleep(3s) = %v, want 3s", got.Sub(time.Unix(0, 0)))
	}
}
