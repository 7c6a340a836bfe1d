package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bulwark-go/bulwark"
)

// ErrLimited is the sentinel every rate-limit rejection matches:
// errors.Is(err, ratelimit.ErrLimited) reports that a call was refused
// because it came too early.
var ErrLimited = errors.New("ratelimit: limited")

// Never is the RetryAfter of a [Decision] (and the Delay of a
// [*LimitedError]) for a request of more events than the burst: it can
// never be admitted at the current setting.
const Never time.Duration = math.MaxInt64

// LimitedError is the error a limiter refuses a call with. It matches
// [ErrLimited] and [bulwark.ErrRejected], and implements
// bulwark.RetryAfter: a retry policy with Config.RetryRejected set waits as
// long as the limiter asks.
type LimitedError struct {
	// Name is the limiter's Config.Name.
	Name string
	// Delay is how long until the call would be admitted, measured when it
	// was refused; [Never] when it asked for more than the burst.
	Delay time.Duration
}

// Error describes the rejection: `ratelimit "api": limited, retry after 120ms`.
func (e *LimitedError) Error() string {
	after := "retry after " + e.Delay.String()
	if e.Delay == Never {
		after = "request exceeds the burst"
	}
	if e.Name == "" {
		return "ratelimit: limited, " + after
	}
	return fmt.Sprintf("ratelimit %q: limited, %s", e.Name, after)
}

// Unwrap returns [ErrLimited].
func (e *LimitedError) Unwrap() error { return ErrLimited }

// Is reports whether target is [bulwark.ErrRejected]: the call was refused
// locally and did not run.
func (e *LimitedError) Is(target error) bool { return target == bulwark.ErrRejected }

// RetryAfter returns Delay.
func (e *LimitedError) RetryAfter() time.Duration { return e.Delay }
