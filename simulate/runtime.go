package simulate

import "time"

// Runtime is the time a simulation runs in. The engine reads the time with
// Now, moves it on with Sleep, and after every event it starts calls Settle,
// which returns once every goroutine of the simulation has gone as far as
// it can without time moving on. Events are run one at a time, in order of
// time and then of scheduling, which makes a run repeatable.
//
// Inside a testing/synctest bubble, time.Now, time.Sleep and synctest.Wait
// make a Runtime whose time is the bubble's, which the policies read too.
type Runtime interface {
	Now() time.Time
	Sleep(d time.Duration)
	Settle()
}
