package adaptive

import (
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
)

// ErrOverloaded is the sentinel every [*OverloadedError] matches:
// errors.Is(err, adaptive.ErrOverloaded) reports that a limiter shed the
// call.
var ErrOverloaded = errors.New("adaptive: overloaded")

// OverloadedError is returned when a [Limiter] sheds a call: the calls in
// flight had reached the limit for the call's priority and the queue was
// full, or the call waited in the queue for Config.MaxWait, or a more
// important call took its place in the queue. It matches [ErrOverloaded]
// and [bulwark.ErrRejected].
type OverloadedError struct {
	Limit    int           // the limit when the call was shed
	InFlight int           // the calls in flight then
	Priority Priority      // the call's priority
	Waited   time.Duration // how long the call waited in the queue; 0 if it was refused at once
	RTT      time.Duration // the latest latency estimate, given as the time to come back
}

func (e *OverloadedError) Error() string {
	s := fmt.Sprintf("adaptive: overloaded: %d calls in flight, limit %d (priority %v)", e.InFlight, e.Limit, e.Priority)
	if e.Waited > 0 {
		s += fmt.Sprintf(" after waiting %v in the queue", e.Waited)
	}
	return s
}

// Is reports whether target is [ErrOverloaded] or [bulwark.ErrRejected]:
// the call was shed locally and did not run.
func (e *OverloadedError) Is(target error) bool {
	return target == ErrOverloaded || target == bulwark.ErrRejected
}

// RetryAfter returns the latest latency estimate: about when a call in
// flight finishes and frees a place. It is zero before any call finished.
// It implements [bulwark.RetryAfter]; a retry policy that honours it should
// also have a budget, since retrying shed calls adds load to an overloaded
// dependency.
func (e *OverloadedError) RetryAfter() time.Duration { return e.RTT }
