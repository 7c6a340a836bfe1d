package bulwark

import "errors"

// ErrRejected is matched, with errors.Is, by every error with which a
// policy refuses a call locally: the operation never ran. The breaker's
// OpenError, the bulkhead's FullError, the rate limiter's LimitedError and
// the adaptive limiter's OverloadedError all match it.
//
// Such an error says nothing about the dependency, so by default a retry
// policy does not retry it (retry.Config.RetryRejected turns that on) and a
// breaker does not count it as a failure nor as a success
// (breaker.Config.CountRejected counts it as a failure).
//
// A policy of your own opts in with an Is method on its error type:
//
//	func (e *MyError) Is(target error) bool { return target == bulwark.ErrRejected }
var ErrRejected = errors.New("bulwark: rejected locally, the call did not run")
