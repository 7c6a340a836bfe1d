package timeout

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is the sentinel every [*ExceededError] matches:
// errors.Is(err, timeout.ErrTimeout) reports that a timeout policy's own
// deadline passed. It is also the cause (context.Cause) of the context the
// policy gives the operation once that deadline passes.
var ErrTimeout = errors.New("timeout: deadline exceeded")

// ExceededError reports that a call ran past a timeout policy's deadline.
// It matches [ErrTimeout] and also context.DeadlineExceeded, so code that
// checks for deadlines in general treats it as one. Its Timeout method
// returns true, as net.Error's does.
//
// It is not the caller's cancellation: [bulwark.CallerDone] reports false for
// it while the caller's own context is live, so an outer retry retries it and
// an outer breaker counts it.
type ExceededError struct {
	// Duration is the policy's timeout.
	Duration time.Duration
	// Err is the error the operation returned after the deadline passed, or
	// nil when a detached policy returned without waiting for it.
	Err error
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("timeout: call exceeded its %v deadline", e.Duration)
}

// Unwrap returns the operation's own error, if any.
func (e *ExceededError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrTimeout] or context.DeadlineExceeded.
func (e *ExceededError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Timeout reports true: the error is a timeout.
func (e *ExceededError) Timeout() bool { return true }
