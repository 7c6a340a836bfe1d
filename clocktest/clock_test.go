package clocktest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// firedAt returns a maker of timer functions that append "name@elapsed",
// the clock's time since epoch when they run, to log.
func firedAt(c *Clock, log *[]string) func(name string) func() {
	return func(name string) func() {
		return func() { *log = append(*log, fmt.Sprintf("%s@%v", name, c.Now().Sub(epoch))) }
	}
}

func TestTimersFireInOrderAtTheirTime(t *testing.T) {
	c := New(epoch)
	var log []string
	at := firedAt(c, &log)
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(time.Second, at("a2")) // same instant: creation order
	stopped := c.AfterFunc(2*time.Second, at("stopped"))
	c.AfterFunc(2*time.Second, func() {
		at("b")()
		c.AfterFunc(0, at("b-child")) // made while firing: fires in the same advance
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending timer must report true once")
	}
	c.Advance(2500 * time.Millisecond)
	if got, want := strings.Join(log, " "), "a@1s a2@1s b@2s b-child@2s"; got != want {
		t.Fatalf("fired %q, want %q", got, want)
	}
	if got := c.Now().Sub(epoch); got != 2500*time.Millisecond {
		t.Fatalf("now +%v, want +2.5s", got)
	}
	if !c.AdvanceToNext() || c.Now().Sub(epoch) != 3*time.Second || c.AdvanceToNext() {
		t.Fatalf("AdvanceToNext: now +%v, log %v", c.Now().Sub(epoch), log)
	}
}

func TestChannelTimerAndReset(t *testing.T) {
	c := New(epoch)
	tm := c.NewTimer(time.Second)
	c.Advance(time.Second)
	select {
	case got := <-tm.C():
		if !got.Equal(epoch.Add(time.Second)) {
			t.Fatalf("sent %v", got)
		}
	default:
		t.Fatal("timer did not fire")
	}
	tm.Reset(time.Second)
	c.Advance(time.Second)
	if tm.Reset(time.Second) { // fired: not pending; and the value is drained
		t.Fatal("Reset reported a fired timer as pending")
	}
	select {
	case <-tm.C():
		t.Fatal("stale value after Reset")
	default:
	}
}

func TestSleepAcrossGoroutines(t *testing.T) {
	c := New(epoch)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan time.Time)
	go func() {
		c.Sleep(ctx, time.Hour)
		done <- c.Now()
	}()
	if err := c.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.AdvanceToNext()
	if got := <-done; !got.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("woke at %v", got)
	}
}

// Step fires one due timer at a time, in the order AdvanceTo would, and
// leaves the clock alone when nothing is due.
func TestStepFiresOneDueTimer(t *testing.T) {
	c := New(epoch)
	var log []string
	at := firedAt(c, &log)
	c.AfterFunc(2*time.Second, at("b"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(time.Second, func() {
		at("a2")()
		c.AfterFunc(0, at("a2-child"))
	})
	tm := c.NewTimer(3 * time.Second)
	limit := epoch.Add(2500 * time.Millisecond)
	var steps []string
	for c.Step(limit) {
		steps = append(steps, strings.Join(log, " "))
		if len(steps) > 10 {
			t.Fatal("Step kept firing")
		}
	}
	want := []string{
		"a@1s",
		"a@1s a2@1s",
		"a@1s a2@1s a2-child@1s",
		"a@1s a2@1s a2-child@1s b@2s",
	}
	if got := strings.Join(steps, " | "); got != strings.Join(want, " | ") {
		t.Fatalf("after each step:\n got %q\nwant %q", got, strings.Join(want, " | "))
	}
	if got := c.Now().Sub(epoch); got != 2*time.Second {
		t.Fatalf("now +%v after the steps, want +2s (the last due time, not the limit)", got)
	}
	if c.Step(limit) || c.Timers() != 1 {
		t.Fatalf("Step fired with nothing due; %d timers pending", c.Timers())
	}
	if !c.Step(epoch.Add(3 * time.Second)) {
		t.Fatal("Step did not fire the 3s channel timer")
	}
	if got := <-tm.C(); !got.Equal(epoch.Add(3 * time.Second)) {
		t.Fatalf("timer sent %v, want +3s", got)
	}
	if c.Step(epoch.Add(time.Hour)) {
		t.Fatal("Step fired with no timer pending")
	}
}

// Sleep of zero or less returns at once, as time.Sleep does, without a
// timer; a Sleep whose context ends returns its error and leaves no timer.
func TestSleepZeroAndCanceled(t *testing.T) {
	c := New(epoch)
	if err := c.Sleep(context.Background(), 0); err != nil || c.Timers() != 0 {
		t.Fatalf("Sleep(0) = %v with %d timers, want nil and none", err, c.Timers())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, -time.Second); err != context.Canceled {
		t.Fatalf("Sleep(-1s) on an ended context = %v, want context.Canceled", err)
	}
	if err := c.Sleep(ctx, time.Hour); err != context.Canceled || c.Timers() != 0 {
		t.Fatalf("Sleep(1h) on an ended context = %v with %d timers, want context.Canceled and none", err, c.Timers())
	}
}
