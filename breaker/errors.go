package breaker

import (
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// ErrOpen is the error every rejection of a [Breaker] matches with
// errors.Is. The error returned is an [*OpenError] with the details.
var ErrOpen = errors.New("breaker: open")

// ErrMetricsOnly is the Err of the KindStateChange events a breaker in
// metrics-only mode reports for the transitions it would make but does not
// enforce. Their From and To name the states of the unenforced state
// machine ("closed", "open", "half-open").
var ErrMetricsOnly = errors.New("breaker: metrics-only, transition not enforced")

// OpenError is the error a [Breaker] rejects a call with. It matches
// [ErrOpen] and [bulwark.ErrRejected], and implements bulwark.RetryAfter.
//
// The breaker hands out one OpenError per state it enters, shared by every
// call it rejects meanwhile, so that rejecting allocates nothing: do not
// modify it.
type OpenError struct {
	// Name is the breaker's Config.Name.
	Name string
	// State is StateOpen, StateForcedOpen, or StateHalfOpen when the breaker
	// is half-open and every probe permit is taken.
	State State
	// Until is when the open wait ends (StateOpen): a call made at or after
	// Until is let through as a probe while probe permits remain, whether or
	// not the breaker's timer has run. In StateHalfOpen it is when the probe
	// period ends at the latest (Config.MaxHalfOpen after it began): by then
	// the probes have closed or reopened the breaker. It is zero for a
	// forced-open breaker, which has no end.
	Until time.Time

	// end is Until on the breaker's clock (time since its origin); 0 when
	// the rejection has no end (forced open, half-open).
	end time.Duration
	clk bulwark.Clock // the breaker's Config.Clock
}

// Error describes the rejection: "breaker: db: open".
func (e *OpenError) Error() string {
	msg := "open"
	switch e.State {
	case StateHalfOpen:
		msg = "half-open, no probe permit left"
	case StateForcedOpen:
		msg = "forced open"
	}
	if e.Name == "" {
		return "breaker: " + msg
	}
	return "breaker: " + e.Name + ": " + msg
}

// Is reports whether target is [ErrOpen] or [bulwark.ErrRejected]: the
// call was refused locally and did not run.
func (e *OpenError) Is(target error) bool { return target == ErrOpen || target == bulwark.ErrRejected }

// RetryAfter returns how long until Until (the end of the open wait, or of
// the probe period), or 0 when Until is zero or past.
func (e *OpenError) RetryAfter() time.Duration {
	if e.Until.IsZero() {
		return 0
	}
	return max(clock.Until(e.clk, e.Until), 0)
}

// panicError reports, in a KindCall event, a protected call that panicked.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("breaker: call panicked: %v", e.value) }
