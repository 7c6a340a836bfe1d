// Package clocktest provides a virtual [bulwark.Clock] for tests and
// simulations: time stands still until the test moves it, and moving it
// fires the timers that fall due, in order, without sleeping.
//
//	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
//	br, _ := breaker.New(breaker.Config{WaitDuration: 30 * time.Second, Clock: clk})
//	// ... open the breaker ...
//	clk.Advance(30 * time.Second) // the open wait ends now, not in 30 s
//
// Give it as Config.Clock to any policy that waits (breaker, retry,
// timeout, hedge, bulkhead, adaptive, ratelimit): the test moves the clock
// ([Clock.Advance], [Clock.AdvanceToNext]) and the backoffs, deadlines and
// open waits that fall due fire in order. A test that needs no hand on the
// clock can run in a testing/synctest bubble instead, where the real clock
// is already virtual.
//
// # Determinism
//
// Timers fire in the order of their due times, and timers due at the same
// instant in the order they were made (or last reset). While a timer fires,
// Now returns its due time. A function given to AfterFunc runs on the
// goroutine that moved the clock, before the clock moves on, so its effects
// (a breaker going half-open, a timeout's context ending) are in place when
// Advance returns. A channel timer sends on its channel (buffered, like
// time.Timer's); the goroutine waiting on it wakes in its own time, so a test
// that drives another goroutine waits for it to block again, for instance
// with [Clock.WaitForTimers], before moving the clock further. To act
// between two timers, fire them one at a time with [Clock.Step].
//
// The clock is safe for concurrent use.
package clocktest
