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
// The usual order is Chain(fallback, retry, breaker, bulkhead, timeout), so
// that the fallback sees the final outcome, every retry passes through the
// breaker, and each attempt has its own timeout. A policy of your own is any
// type with Execute(ctx, bulwark.Operation) (any, error); it chains with
// bulwark's.
//
// # Results are returned, never captured
//
// A policy receives an [Operation] and gets the operation's result back as a
// return value. Policies that run attempts concurrently (hedging, a detached
// timeout) therefore never write a shared variable: each attempt's result
// travels on its own path and the losing ones are dropped.
//
// # Local rejections
//
// A policy that refuses a call without running it (an open breaker, a full
// bulkhead, a rate limiter, a shedding adaptive limiter) returns an error
// matching [ErrRejected]. It says nothing about the dependency: a retry
// policy returns it at once instead of retrying it, and a breaker does not
// count it, unless told otherwise (retry.Config.RetryRejected,
// breaker.Config.CountRejected). So Chain(retry, breaker) fails fast while
// the breaker is open.
//
// # Time
//
// Every policy's Config has an optional [Clock]; nil is the real clock, read
// directly. Under testing/synctest the real clock is already virtual. For a
// clock a test or a simulation moves by hand, use package clocktest.
// [Attempt] tells an operation which attempt of a retry or hedge it is.
//
// # Classifiers
//
// A Config field that judges an error is Is<Property> func(err error) bool;
// one that judges a result is Is<Property>Result func(result any) bool, and
// [ResultOf] writes it for one result type.
//
// # Observation
//
// Every policy reports what it does to an optional [Observer] (calls,
// outcomes, rejections, state changes, retries, durations). When no observer
// is set, reporting costs one nil check. The prommetrics, otelmetrics and
// slogobserver packages implement Observer. A policy with live figures
// implements [Watchable], which the metrics exporters and the health
// package read when scraped; a policy of your own can too.
//
// The core packages (this one and the policies) import only the standard
// library, and a test enforces it; integrations live in packages of their
// own.
package bulwark
