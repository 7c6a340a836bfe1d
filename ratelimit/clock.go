package ratelimit

import "time"

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
type clock struct{ base time.Time }

func (c *clock) now() uint64 { return ticksOf(time.Since(c.base)) }

func (c *clock) at(t time.Time) uint64 { return ticksOf(t.Sub(c.base)) }

// ahead returns how many ticks a is after b: negative when a is before b.
func ahead(a, b uint64) int64 { return int64(a - b) }
