package simulate

import (
	"container/heap"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
)

// VirtualClock is a [Runtime] whose time moves only when the simulation
// sleeps, and a [bulwark.Clock] for the policies under test: their timers
// (retry backoff, timeout deadlines, a breaker's open wait) fire one at a
// time in order of due time, then of creation, each followed by Settle.
// It is safe for concurrent use.
//
// Settle waits until no goroutine of the process is runnable: a
// VirtualClock expects the simulation to be the only work of its process,
// and the process to run with GOMAXPROCS 1 (runtime.GOMAXPROCS(1)), where
// a settle costs one scheduler round trip and one read of the runnable
// count. With more Ps it still works, about a thousand times slower.
type VirtualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers vtimers
	seq    uint64
	sample []metrics.Sample
}

// NewVirtualClock returns a clock that reads start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start, sample: []metrics.Sample{
		{Name: "/sched/goroutines/runnable:goroutines"},
		{Name: "/sched/goroutines/running:goroutines"},
	}}
}

// Now returns the clock's time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that sends on its channel once d has passed on
// the clock.
func (c *VirtualClock) NewTimer(d time.Duration) bulwark.Timer {
	return c.start(&vtimer{c: c, ch: make(chan time.Time, 1), index: -1}, d)
}

// AfterFunc returns a timer that calls f once d has passed on the clock.
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) bulwark.Timer {
	return c.start(&vtimer{c: c, fn: f, index: -1}, d)
}

func (c *VirtualClock) start(t *vtimer, d time.Duration) *vtimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.schedule(t, d)
	return t
}

func (c *VirtualClock) schedule(t *vtimer, d time.Duration) {
	t.when = c.now.Add(max(d, 0))
	c.seq++
	t.seq = c.seq
	heap.Push(&c.timers, t)
}

// Sleep moves the clock d on, firing the timers that fall due on the way,
// each followed by Settle.
func (c *VirtualClock) Sleep(d time.Duration) {
	c.mu.Lock()
	until := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].when.After(until) {
			c.now = until
			c.mu.Unlock()
			return
		}
		t := heap.Pop(&c.timers).(*vtimer)
		c.now = t.when
		if t.fn == nil {
			select {
			case t.ch <- t.when:
			default:
			}
		}
		c.mu.Unlock()
		if t.fn != nil {
			t.fn()
		}
		c.Settle()
	}
}

// Settle returns once no other goroutine of the process is runnable.
//
// With GOMAXPROCS 1 (see [VirtualClock]) that is exact and cheap: after
// runtime.Gosched the caller runs again only once the run queue is empty or
// the scheduler's fairness check picks it early, and one read of the
// runnable count tells which. With more Ps, a goroutine running on another
// P or between two of them is not seen runnable, so Settle asks for two
// quiet reads in a row, which is slow (milliseconds an event) and only
// nearly always right.
func (c *VirtualClock) Settle() {
	need := 1
	if runtime.GOMAXPROCS(0) > 1 {
		need = 2
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for quiet := 0; quiet < need; {
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
		metrics.Read(c.sample)
		if c.sample[0].Value.Uint64() == 0 && c.sample[1].Value.Uint64() <= 1 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

type vtimer struct {
	c     *VirtualClock
	ch    chan time.Time
	fn    func()
	when  time.Time
	seq   uint64
	index int
}

func (t *vtimer) C() <-chan time.Time { return t.ch }

func (t *vtimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.stopLocked()
}

func (t *vtimer) stopLocked() bool {
	if t.ch != nil {
		select {
		case <-t.ch:
		default:
		}
	}
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

func (t *vtimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	active := t.stopLocked()
	t.c.schedule(t, d)
	return active
}

type vtimers []*vtimer

func (h vtimers) Len() int { return len(h) }
func (h vtimers) Less(i, j int) bool {
	return h[i].when.Before(h[j].when) || (h[i].when.Equal(h[j].when) && h[i].seq < h[j].seq)
}
func (h vtimers) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *vtimers) Push(x any) {
	t := x.(*vtimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *vtimers) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

var _ bulwark.Clock = (*VirtualClock)(nil)
