// Package breaker is a circuit breaker: it watches the outcomes of calls to
// a dependency and, when too many fail or are too slow, stops calling it for
// a while, so that the dependency can recover and callers fail fast instead
// of queueing behind it.
//
// A [Breaker] implements bulwark.Policy. The common configuration, field
// for field — open at 50% failures once 10 calls were seen, stay open 30
// seconds, then test with 3 calls:
//
//	br, err := breaker.New(breaker.Config{
//		Name:                 "payments",
//		FailureRateThreshold: 0.5,
//		MinimumCalls:         10,
//		WaitDuration:         30 * time.Second,
//		HalfOpenCalls:        3,
//	})
//	...
//	receipt, err := bulwark.Get(ctx, br, func(ctx context.Context) (Receipt, error) {
//		return payments.Charge(ctx, order)
//	})
//	if errors.Is(err, breaker.ErrOpen) {
//		// rejected without calling; err.(bulwark.RetryAfter) says when to come back
//	}
//
// Those values are also the defaults ([Config] states each field's), so
// breaker.New(breaker.Config{Name: "payments"}) behaves the same. New
// rejects a bad value with an error naming the field and never adjusts a
// value that was set.
//
// Use one breaker per dependency (or per dependency and operation), inside
// the retry and outside the timeout, bulwark.Chain(fallback, retry, br,
// timeout), so that the breaker sees every retry. A rejection matches
// bulwark.ErrRejected (the call did not run): by default a retry returns it
// at once instead of retrying it, and a breaker that sees one from a policy
// inside it does not count it (retry.Config.RetryRejected and
// Config.CountRejected turn each back on).
//
// # States
//
// A breaker starts closed: calls go through and their outcomes enter a
// sliding window. Once the window holds MinimumCalls calls and the share of
// failures reaches FailureRateThreshold (or the share of calls slower than
// SlowCallDuration reaches SlowCallRateThreshold), it opens: every call is
// rejected with an [*OpenError] for WaitDuration. Then it is half-open: it
// lets HalfOpenCalls probe calls through and rejects the others. If the
// probes' failure and slow-call rates stay under the thresholds it closes
// with an empty window; otherwise it opens again, for a wait that grows by
// WaitMultiplier up to MaxWaitDuration while the dependency stays down. A half-open
// period that has not decided within MaxHalfOpen (a probe hangs) opens
// again, so the breaker never gets stuck.
//
// The wait ends on a timer, or at the first call at or after the
// [OpenError]'s Until, whichever comes first. Calls beyond the probes are
// rejected with an OpenError whose State is StateHalfOpen (it matches
// ErrOpen too; its Until is the end of the probe period). Closing resets
// the grown wait.
//
// By hand, a breaker can be forced open ([Breaker.ForceOpen]), forced closed
// ([Breaker.ForceClosed]: records, never opens), disabled ([Breaker.Disable]:
// records nothing), put in metrics-only mode ([Breaker.MetricsOnly]: records
// and runs its state machine, reports the transitions it would make, never
// rejects; the observer hears a KindStateChange with Err ==
// [ErrMetricsOnly] for each) and reset ([Breaker.Reset]: closed, with an
// empty window). States print as closed, open, half-open, forced-open,
// forced-closed, disabled and metrics-only.
//
// # Windows
//
// WindowCount (the default) keeps the last WindowSize calls; WindowTime keeps
// the calls of the last WindowSize seconds in one-second buckets;
// WindowConsecutive opens after WindowSize failures in a row.
//
// # Classifying outcomes
//
// Every error is a failure unless Config.IsIgnored says to ignore it or
// Config.IsFailure says it is not a failure; Config.IsFailureResult can turn a
// result (an HTTP 503) into a failure. The caller's own cancellation
// (bulwark.CallerDone) is never a failure. A panic is a failure and is
// re-raised with the same value.
//
// # Middleware
//
// Code that cannot wrap the call in a function asks first and reports after:
//
//	permit, err := br.Allow()
//	if err != nil {
//		return err // rejected
//	}
//	resp, err := next(req)
//	permit.Done(err)
//
// Allow and the [Permit] allocate nothing.
//
// # Listeners and shared state
//
// Config.OnStateChange and [Breaker.AddListener] are told of every state
// change (a [Change]: From, To, At, Until, Cause), outside the breaker's
// locks, in order, one at a time, and may call the breaker. A fleet of instances can share a breaker's state (through
// Redis, say): a listener publishes the local changes, and the receiving
// side applies the others' with [Breaker.OpenUntil] and [Breaker.CloseNow],
// whose changes carry CauseExternal so that they are not published again.
// A state set by hand wins over OpenUntil and CloseNow.
// [Breaker.Reconfigure] replaces the configuration and keeps the state (the
// window too, unless its kind or size changed).
//
// # Observation
//
// Config.Observer receives a bulwark.KindCall event per finished call (with
// Outcome, Slow, and Duration when SlowCallDuration is set), a KindRejected
// event per rejection and a KindStateChange event per state change (From
// and To are State names). [Breaker.Snapshot] returns the live figures.
// The count of rejections is the observer's to keep: a breaker writes
// nothing when it rejects, so that rejecting costs about one atomic load.
//
// # Cost
//
// A closed breaker with the default count window reads one atomic pointer
// and one atomic flag per successful call and writes nothing while its
// window holds only successes, so parallel callers do not contend; it reads
// the clock only when SlowCallDuration is set or the window is time-based.
// Allow inlines into the caller. An open breaker rejects with one atomic
// load, plus a clock read in the last second of its wait. A time window
// takes a mutex and reads the clock once per call.
package breaker
