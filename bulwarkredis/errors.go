package bulwarkredis

import (
	"errors"
	"fmt"
)

// ErrUnavailable is the sentinel every Redis failure of this package
// matches: errors.Is(err, bulwarkredis.ErrUnavailable) reports that Redis
// could not be asked in time (unreachable, timed out, or it answered with
// an error), as opposed to a limiter's refusal.
var ErrUnavailable = errors.New("bulwarkredis: redis unavailable")

// UnavailableError reports a Redis failure: a Limiter's decision that Redis
// did not make (see LimiterConfig.FailClosed), or a breaker state that could
// not be shared. It matches [ErrUnavailable] and unwraps to the Redis
// client's error as well.
type UnavailableError struct {
	// Name is the Limiter's LimiterConfig.Name or the BreakerSync's
	// SyncConfig.Key.
	Name string
	// Op says what failed: "allow", "publish", "subscribe", "read".
	Op string
	// Err is the Redis client's error.
	Err error
}

// Error describes the failure: `bulwarkredis "api": allow: redis unavailable: dial tcp ...`.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("bulwarkredis %q: %s: redis unavailable: %v", e.Name, e.Op, e.Err)
}

// Unwrap returns [ErrUnavailable] and the Redis client's error.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// StateError reports a Redis key that held something else than this
// package's state: a value it cannot read, a value of another type, or a
// value out of range. It is told to OnError; the key is overwritten or
// ignored, and the call or start goes on.
type StateError struct {
	// Name is the Limiter's LimiterConfig.Name or the BreakerSync's
	// SyncConfig.Key.
	Name string
	// Key is the Redis key, or the channel the message came on.
	Key string
	// Problem says what was wrong and what was done about it.
	Problem string
}

// Error describes the fault: `bulwarkredis "api": key "k": ...`.
func (e *StateError) Error() string {
	return fmt.Sprintf("bulwarkredis %q: key %q: %s", e.Name, e.Key, e.Problem)
}
