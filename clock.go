package bulwark

import "time"

// A Clock tells the time and runs timers for a policy. Every policy's Config
// has an optional Clock field: nil, the default, means the real clock
// (package time), read directly at no extra cost; under testing/synctest the
// real clock is the bubble's fake one, so synctest needs no Clock.
//
// Set a Clock to drive a policy on a timeline of your own: the virtual clock
// of package clocktest moves only when told to, firing the timers that fall
// due (retry backoff, timeout deadlines, a breaker's open wait, a hedge's
// delay) in order, without sleeping, so that tests and simulations run
// deterministically and as fast as the code runs.
//
// Implementations must be safe for concurrent use, and Now must never go
// backwards.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d
	// has passed, like time.NewTimer.
	NewTimer(d time.Duration) Timer
	// AfterFunc returns a timer that calls f once d has passed, like
	// time.AfterFunc. Its C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a timer made by a [Clock]: the methods of *time.Timer, with the
// channel behind a method. Stop and Reset follow the semantics of Go 1.23
// timers: after either returns, no stale value is received from C.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}
