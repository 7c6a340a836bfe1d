package clocktest

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// Clock is a virtual [bulwark.Clock]. Make one with [New].
type Clock struct {
	mu      sync.Mutex
	changed *sync.Cond // broadcast when a timer is added
	now     time.Time
	timers  timerHeap
	seq     uint64
	firing  sync.Mutex // held while Advance fires timers, so that advances do not interleave
}

// New returns a Clock that reads start until it is moved.
func New(start time.Time) *Clock {
	c := &Clock{now: start}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since returns the time elapsed since t on the clock.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// NewTimer returns a timer that sends the clock's time on its channel once
// the clock has moved d past now. A d of zero or less fires on the next
// move of the clock (Advance(0) included).
func (c *Clock) NewTimer(d time.Duration) bulwark.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1), index: -1}
	c.mu.Lock()
	c.startLocked(t, d)
	c.mu.Unlock()
	return t
}

// AfterFunc returns a timer that calls f, on the goroutine moving the
// clock, once the clock has moved d past now.
func (c *Clock) AfterFunc(d time.Duration, f func()) bulwark.Timer {
	t := &timer{c: c, fn: f, index: -1}
	c.mu.Lock()
	c.startLocked(t, d)
	c.mu.Unlock()
	return t
}

// Sleep blocks until the clock has moved d past now, or ctx ends; it
// returns ctx.Err() in that case. A d of zero or less returns ctx.Err() at
// once, as time.Sleep returns.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	return clock.Sleep(ctx, c, d)
}

func (c *Clock) startLocked(t *timer, d time.Duration) {
	t.when = c.now.Add(max(d, 0))
	c.seq++
	t.seq = c.seq
	heap.Push(&c.timers, t)
	c.changed.Broadcast()
}

// Advance moves the clock d forward, firing in order every timer that
// falls due on the way (including those that the timers fired make).
func (c *Clock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock to t, firing in order every timer due at or
// before t. It does nothing if t is before Now.
func (c *Clock) AdvanceTo(t time.Time) {
	c.firing.Lock()
	defer c.firing.Unlock()
	for c.fireNext(t) {
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// Step fires the earliest pending timer if it is due at or before limit,
// moving the clock to its due time, and reports whether it fired one. It
// does not move the clock when no timer is due. A loop of Steps fires the
// same timers in the same order as AdvanceTo(limit), and lets the caller
// act between two of them, for instance wait for the goroutines a timer
// woke to block again (package simulate's VirtualClock does):
//
//	for clk.Step(until) {
//		settle()
//	}
//	clk.AdvanceTo(until)
func (c *Clock) Step(limit time.Time) bool {
	c.firing.Lock()
	defer c.firing.Unlock()
	return c.fireNext(limit)
}

// Next returns when the earliest pending timer is due, and false if no
// timer is pending.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// AdvanceToNext moves the clock to the earliest pending timer's due time
// and fires every timer due then. It reports false, and does nothing, when
// no timer is pending. A simulation loop is:
//
//	for clk.AdvanceToNext() { ... }
func (c *Clock) AdvanceToNext() bool {
	when, ok := c.Next()
	if ok {
		c.AdvanceTo(when)
	}
	return ok
}

// Timers returns the number of timers pending.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitForTimers blocks, in real time, until at least n timers are pending
// or ctx ends: a test uses it to know that another goroutine is waiting on
// the clock (a retry in its backoff, a caller in a bulkhead's queue) before
// it moves the clock.
func (c *Clock) WaitForTimers(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.changed.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.changed.Wait()
	}
	return nil
}

// fireNext fires the earliest timer if it is due at or before limit.
func (c *Clock) fireNext(limit time.Time) bool {
	c.mu.Lock()
	if len(c.timers) == 0 || c.timers[0].when.After(limit) {
		c.mu.Unlock()
		return false
	}
	t := heap.Pop(&c.timers).(*timer)
	if t.when.After(c.now) {
		c.now = t.when
	}
	now := c.now
	if t.fn == nil {
		select {
		case t.ch <- now:
		default: // a value is already waiting, as with time.Timer
		}
	}
	c.mu.Unlock()
	if t.fn != nil {
		t.fn()
	}
	return true
}

type timer struct {
	c     *Clock
	ch    chan time.Time // nil for AfterFunc
	fn    func()
	when  time.Time
	seq   uint64
	index int // in the heap; -1 when not pending
}

func (t *timer) C() <-chan time.Time { return t.ch }

// Stop stops the timer and reports whether it was pending. No value sent
// before Stop is received after it.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.stopLocked()
}

// Reset makes the timer due d after the clock's current time and reports
// whether it was pending. No value sent before Reset is received after it.
func (t *timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	pending := t.stopLocked()
	t.c.startLocked(t, d)
	return pending
}

func (t *timer) stopLocked() bool {
	pending := t.index >= 0
	if pending {
		heap.Remove(&t.c.timers, t.index)
	}
	t.drain()
	return pending
}

func (t *timer) drain() {
	if t.ch != nil {
		select {
		case <-t.ch:
		default:
		}
	}
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
