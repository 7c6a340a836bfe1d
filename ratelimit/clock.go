package ratelimit

import (
	"time"

	"github.com/bulwark-go/bulwark"
	bclock "github.com/bulwark-go/bulwark/internal/clock"
)

// Time inside a limiter is counted in ticks of 1/16 ns since the limiter was
// made, in a uint64 that is allowed to wrap: only differences of two ticks
// are ever used (as int64), and they stay far below the 2^63 ticks (about
// 18 years) where wrapping would confuse them. Sixteen ticks per nanosecond
// keep the rounding of an event's interval small even at a billion events
// per second; whole nanoseconds would make a rate of 3e8 per second 11%
// fast.
//
// Reading the clock is time.Since(base): a monotonic read, cheaper than
// time.Now, and under testing/synctest the bubble's fake time, like
// time.Now there.
const tickShift = 4

// ticksOf converts a duration to ticks. The conversion wraps for durations
// beyond ±18 years, consistently, so differences stay right.
func ticksOf(d time.Duration) uint64 { return uint64(d) << tickShift }

// durationOf converts a non-negative tick count to a duration, rounding up
// so that waiting that long is always enough.
func durationOf(t int64) time.Duration {
	if t <= 0 {
		return 0
	}
	return time.Duration((t + 1<<tickShift - 1) >> tickShift)
}

// clock reads time for a limiter. base is when the limiter was made.
//
// A call that reads the clock itself (Allow, Check, Execute, Wait and
// their keyed forms) must not decide against a state that callers reading
// the clock later have moved on since its own reading: a goroutine can be
// paused between reading the clock and deciding, or wait for a keyed shard's
// lock, and GCRA measures the state against now, so an old reading would
// refuse a call that the bucket has had room for since (by more than
// burst/rate once the pause is that long). Admitting at an old reading is
// sound: next = max(tat, now) + cost is what any reading up to tat would
// give, and every reading that built the state is at most tat, so the call
// counts as arriving at the latest of them. Refusing, or setting a wait,
// is not. So such a call loads the state before it reads the clock, and
// if the state it then decides on has changed since that load, it reads
// the clock again before it refuses (the keyed limiter: reads it again
// under the shard's lock). Admitted calls, and calls refused while the
// state stands still, read the clock once.
type clock struct {
	base time.Time
	clk  bulwark.Clock // Config.Clock; nil: the real clock

	// since, when a test sets it, replaces time.Since(base), so that the
	// test can run other callers at a given reading.
	since func() time.Duration
}

func (c *clock) now() uint64 {
	if c.since != nil {
		return ticksOf(c.since())
	}
	if c.clk != nil {
		return ticksOf(c.clk.Now().Sub(c.base))
	}
	return ticksOf(time.Since(c.base))
}

// wall returns the current time on the limiter's clock, for the methods
// that are their …At form at the current time.
func (c *clock) wall() time.Time { return bclock.Now(c.clk) }

func (c *clock) at(t time.Time) uint64 { return ticksOf(t.Sub(c.base)) }

// ahead returns how many ticks a is after b: negative when a is before b.
func ahead(a, b uint64) int64 { return int64(a - b) }
