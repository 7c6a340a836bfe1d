package simulate

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/clocktest"
)

// VirtualClock is a [Runtime] whose time moves only when the simulation
// sleeps, and a [bulwark.Clock] for the policies under test: their timers
// (retry backoff, timeout deadlines, a breaker's open wait) are those of a
// [clocktest.Clock], fired one at a time in order of due time, then of
// creation, each followed by Settle.
// It is safe for concurrent use.
//
// Settle waits until no goroutine of the process is runnable: a
// VirtualClock expects the simulation to be the only work of its process,
// and the process to run with GOMAXPROCS 1 (runtime.GOMAXPROCS(1)), where
// a settle costs one scheduler round trip and one read of the runnable
// count. With more Ps it still works, about a thousand times slower.
type VirtualClock struct {
	clk    *clocktest.Clock
	mu     sync.Mutex // guards sample
	sample []metrics.Sample
}

// NewVirtualClock returns a clock that reads start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{clk: clocktest.New(start), sample: []metrics.Sample{
		{Name: "/sched/goroutines/runnable:goroutines"},
		{Name: "/sched/goroutines/running:goroutines"},
	}}
}

// Now returns the clock's time.
func (c *VirtualClock) Now() time.Time { return c.clk.Now() }

// NewTimer returns a timer that sends on its channel once d has passed on
// the clock.
func (c *VirtualClock) NewTimer(d time.Duration) bulwark.Timer { return c.clk.NewTimer(d) }

// AfterFunc returns a timer that calls f once d has passed on the clock.
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) bulwark.Timer {
	return c.clk.AfterFunc(d, f)
}

// Sleep moves the clock d on, firing the timers that fall due on the way,
// each followed by Settle.
func (c *VirtualClock) Sleep(d time.Duration) {
	until := c.clk.Now().Add(d)
	for c.clk.Step(until) {
		c.Settle()
	}
	c.clk.AdvanceTo(until)
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

var _ bulwark.Clock = (*VirtualClock)(nil)
