// Package retry runs an operation again when it fails, waiting longer
// between attempts, within limits that keep retries from making an outage
// worse.
//
// Use it for calls that fail transiently (a dropped connection, a 503, a
// leader election), outside the breaker and the per-attempt timeout:
// bulwark.Chain(fallback, retry, breaker, timeout). A [Retry] is a
// [bulwark.Policy]:
//
//	budget, err := retry.NewBudget(retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second})
//	rt, err := retry.New(retry.Config{
//		Name:        "users-api",
//		Backoff:     retry.Exponential{Initial: 100 * time.Millisecond, Multiplier: 2, Max: 10 * time.Second},
//		Jitter:      retry.JitterFull,
//		MaxAttempts: retry.Unlimited, // as many as fit in MaxElapsed and the budget
//		MaxElapsed:  60 * time.Second,
//		Budget:      budget,
//	})
//	...
//	user, err := bulwark.Get(ctx, rt, func(ctx context.Context) (User, error) {
//		return api.User(ctx, id)
//	})
//	var ex *retry.ExhaustedError
//	if errors.As(err, &ex) {
//		log.Printf("gave up after %d attempts (%v): %v", ex.Attempts, ex.Reason, ex.Last)
//	}
//
// # Limits
//
// A call stops after Config.MaxAttempts attempts ([Unlimited] for no
// limit) or once the next attempt
// would start Config.MaxElapsed after the call began, whichever comes
// first. It never waits for nothing: when the next wait would end at or
// after the context's deadline, it gives up at once. The caller's
// cancellation ends a wait immediately.
//
// # Which failures are retried
//
// Every error is retried except:
//   - errors marked with [Permanent], which come back at once, unmarked;
//   - the caller's own cancellation ([bulwark.CallerDone]);
//   - errors for which Config.IsRetryable returns false;
//   - local rejections ([bulwark.ErrRejected]: an open breaker, a full
//     bulkhead, a rate limiter, a shedding adaptive limiter inside the
//     retry), unless Config.RetryRejected is set: the call did not run, and
//     the policy that refused it has already decided.
//
// Config.IsRetryableResult can also retry successful results (an empty page, a
// "try later" payload). An attempt that ran out of its own
// Config.AttemptTimeout is always retried (unless permanent), since the
// caller still has time.
//
// When an error carries a delay demanded by the dependency
// ([bulwark.RetryAfter]: an HTTP 429 or 503; an open breaker or a rate
// limiter when Config.RetryRejected is set), that delay replaces the backoff's for the next wait, capped by
// Config.MaxRetryAfter.
//
// # Backoff and jitter
//
// [Constant], [Linear] and [Exponential] implement [Backoff]; any type with
// a Delay(n int) time.Duration method can replace them. Config.Jitter spreads
// the waits of clients that failed together: [JitterFull], [JitterEqual] or
// [JitterDecorrelated]. Set Config.Rand for repeatable jitter in tests.
//
// # Budgets
//
// MaxAttempts alone multiplies the load on a failing dependency by
// MaxAttempts, at the worst time; with a few layers of retries the
// multiplication compounds (a retry storm). A [Budget] shared by the retry
// policies that call one dependency allows retries only up to a ratio of
// recent calls plus a small floor ([BudgetConfig]), so a failing dependency
// sees at most that much extra load. When the budget refuses, the call gives
// up with an [*ExhaustedError] whose Reason is [ReasonBudget].
//
// # Errors
//
// When the policy gives up after retrying, or could not retry because of a
// deadline, MaxElapsed or the budget, it returns an [*ExhaustedError] that
// matches [ErrExhausted] and unwraps to the last attempt's error. When no
// retry was possible (MaxAttempts 1, a permanent or non-retryable error, the
// caller's cancellation) it returns the attempt's error as it is.
//
// # Observation and cost
//
// Config.OnRetry and the Observer (KindRetry, KindExhausted,
// KindBudgetExhausted) hear about every retry. A call that succeeds on its
// first attempt allocates nothing, takes no lock and reads no clock (unless
// MaxElapsed or a Budget is set, which need the time): it costs one atomic
// addition on top of the operation.
package retry
