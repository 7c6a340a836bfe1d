// Package bulwark composes resilience policies around any function of the
// shape func(context.Context) (T, error).
//
// A policy (a circuit breaker, a retry, a timeout, a fallback, a bulkhead, a
// rate limiter, ...) lives in a package of its own and implements [Policy].
// Results are typed at the call, not on the policy, so one breaker protects
// calls of any result type:
//
//	br, _ := breaker.New(breaker.Config{Name: "db"})
//	rt, _ := retry.New(retry.Config{MaxAttempts: 3})
//	user, err := bulwark.Get(ctx, bulwark.Chain(rt, br), func(ctx context.Context) (User, error) {
//		return db.LoadUser(ctx, id)
//	})
//
// # Composition order
//
// Chain(a, b, c) behaves as a(b(c(fn))): the first policy is the outermost.
// The usual order is Chain(fallback, retry, breaker, timeout), so that the
// fallback sees the final outcome, every retry passes through the breaker,
// and each attempt has its own timeout.
//
// # Results are returned, never captured
//
// A policy receives an [Operation] and gets the operation's result back as a
// return value. Policies that run attempts concurrently (hedging, a detached
// timeout) therefore never write a shared variable: each attempt's result
// travels on its own path and the losing ones are dropped.
//
// # Observation
//
// Every policy reports what it does to an optional [Observer] (calls,
// outcomes, rejections, state changes, retries, durations). When no observer
// is set, reporting costs one nil check. The prommetrics, otelmetrics and
// slogobserver packages implement Observer.
package bulwark
