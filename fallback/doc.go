// Package fallback replaces the result of a failed call with something
// still useful: a default, a cached copy, an answer from another source.
//
// A [Fallback] is a [bulwark.Policy]. Put it outermost, so that it sees the
// final outcome after retries and breakers have had their say:
//
//	fb, err := fallback.New(fallback.Config{
//		Name: "recommendations",
//		Func: fallback.For(func(ctx context.Context, err error) ([]Item, error) {
//			return popularItems, nil
//		}),
//	})
//	...
//	items, err := bulwark.Get(ctx, bulwark.Chain(fb, rt, br), func(ctx context.Context) ([]Item, error) {
//		return recs.For(ctx, user)
//	})
//
// # What is replaced
//
// Every error is replaced, unless Config.IsHandled says otherwise, except the
// caller's own cancellation ([bulwark.CallerDone]): a caller that gave up
// gets its context's error back, never a fallback value. Successful results
// pass through untouched.
//
// # Types
//
// Results are typed at the call, not on the policy. [For] builds a Func
// from a typed function, so the compiler checks the fallback's type where it
// is written; [Value] wraps a fixed value. If a fallback produces a value of
// another type than the caller's [bulwark.Get] expects, Get returns the zero
// value and a [*bulwark.ResultTypeError].
//
// # Panics and observation
//
// The policy recovers no panic, neither the operation's nor the fallback's.
// Its Observer hears KindFallback each time the fallback runs, with the
// error it replaced; Snapshot counts calls, fallbacks and failed fallbacks.
package fallback
