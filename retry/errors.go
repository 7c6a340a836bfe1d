package retry

import (
	"errors"
	"fmt"
	"time"
)

// ErrExhausted is the sentinel every [*ExhaustedError] matches:
// errors.Is(err, retry.ErrExhausted) reports that a retry policy gave up.
var ErrExhausted = errors.New("retry: exhausted")

// Reason says why a retry policy gave up.
type Reason uint8

// The reasons for giving up.
const (
	// ReasonMaxAttempts: Config.MaxAttempts attempts were made.
	ReasonMaxAttempts Reason = iota + 1
	// ReasonMaxElapsed: the next attempt would start after Config.MaxElapsed.
	ReasonMaxElapsed
	// ReasonDeadline: the wait before the next attempt would end at or after
	// the context's deadline, so the policy did not wait for nothing.
	ReasonDeadline
	// ReasonBudget: the retry budget refused the retry.
	ReasonBudget
)

// String returns "max attempts", "max elapsed", "deadline" or "budget".
func (r Reason) String() string {
	switch r {
	case ReasonMaxAttempts:
		return "max attempts"
	case ReasonMaxElapsed:
		return "max elapsed"
	case ReasonDeadline:
		return "deadline"
	case ReasonBudget:
		return "budget"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// ExhaustedError is returned when a retry policy gives up after retrying, or
// when it would have retried but could not (deadline, MaxElapsed, budget).
// It matches [ErrExhausted] and unwraps to the last attempt's error, so
// errors.Is and errors.As reach that error too.
type ExhaustedError struct {
	// Attempts is the number of attempts made, the first one included.
	Attempts int
	// Elapsed is the time spent retrying: from the end of the first attempt
	// to giving up, whatever the configuration. (The policy reads no clock
	// before a call fails, so that a first-attempt success costs nothing;
	// Config.MaxElapsed, when set, counts from the start of the call.)
	Elapsed time.Duration
	// Reason says why the policy gave up.
	Reason Reason
	// Last is the last attempt's error. It is nil when the last attempt
	// succeeded with a result that Config.IsRetryableResult rejected.
	Last error
}

func (e *ExhaustedError) Error() string {
	last := "result still rejected by IsRetryableResult"
	if e.Last != nil {
		last = e.Last.Error()
	}
	return fmt.Sprintf("retry: gave up after %d attempt(s) in %v (%v): %s", e.Attempts, e.Elapsed, e.Reason, last)
}

// Unwrap returns the last attempt's error.
func (e *ExhaustedError) Unwrap() error { return e.Last }

// Is reports whether target is [ErrExhausted].
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

// Permanent marks err as not worth retrying: a retry policy that sees it (or
// an error wrapping it) stops at once. When the attempt's error is exactly
// the value Permanent returned, the policy returns err itself, unmarked;
// when the mark is buried deeper in a chain of wrapped errors, the policy
// returns the attempt's error unchanged. Either way errors.Is and errors.As
// reach err.
//
// Permanent(nil) returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// IsPermanent reports whether err is, or wraps, an error made by [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
