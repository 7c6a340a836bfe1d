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
// # Stale-if-error
//
// [NewStale] remembers the last good result per key and, when a later call
// with that key fails, serves it (with no error) if it is at most
// StaleConfig.MaxAge old; memory is bounded by StaleConfig.MaxEntries, least
// recently used out first. The key comes from the context, so one policy
// serves calls of any result type:
//
//	stale, err := fallback.NewStale(fallback.StaleConfig{Name: "users", MaxAge: 10 * time.Minute})
//	ctx = fallback.WithKey(ctx, "user:"+id) // names the result; another type needs another key
//	user, err := bulwark.Get(ctx, bulwark.Chain(stale, rt, br), func(ctx context.Context) (User, error) {
//		return users.Load(ctx, id)
//	})
//	stale.Forget("user:" + id) // after a write, so an old copy is never served
//
// A call without a key passes through; the caller's own cancellation and
// the errors IsHandled refuses are returned as they are; a [bulwark.Run]
// call (no value) is never remembered. Results are kept as they are, not
// copied. A success costs one map update under a mutex and one clock read.
//
// # Fallback sequences
//
// [NewSequence] tries alternatives in order: the operation (the primary,
// behind the policies chained inside the sequence), then each [Step] (a
// secondary source behind its own Policy), typically ending with a static
// [Value]. The first success wins; each step receives the error of the one
// before. When everything fails the error is a [*SequenceError] that
// matches [ErrAllFailed] and, through errors.Is and errors.As, every step's
// error:
//
//	seq, err := fallback.NewSequence(fallback.SequenceConfig{Name: "recs", Steps: []fallback.Step{
//		{Name: "rules", Policy: bulwark.Chain(rulesBreaker, rulesTimeout), Func: fallback.For(ruleBased)},
//		{Name: "popular", Func: fallback.Value(popularItems)},
//	}})
//	recs, err := bulwark.Get(fallback.WithKey(ctx, "recs:"+user), bulwark.Chain(seq, stale, mlBreaker, mlTimeout),
//		func(ctx context.Context) ([]Item, error) { return ml.Recommend(ctx, user) })
//
// A failing ML call is then answered by the user's last good
// recommendations, then by the rule-based recommender, then by popular
// items (ExampleSequence_recommendations runs it). A sequence's Observer
// hears KindFallback per step run, with Attempt its place (2 is the first
// step).
//
// # Panics and observation
//
// The policy recovers no panic, neither the operation's nor the fallback's.
// Its Observer hears KindFallback each time the fallback runs, with the
// error it replaced and, in Outcome, whether the fallback succeeded;
// Snapshot counts calls, fallbacks and failed fallbacks. A success costs
// one atomic addition.
package fallback
