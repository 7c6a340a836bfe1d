// Package timeout gives each call a deadline, so that a slow dependency
// costs the caller a bounded time.
//
// A [Timeout] is a [bulwark.Policy]:
//
//	to, err := timeout.New(timeout.Config{Name: "search", Duration: 2 * time.Second})
//	...
//	hits, err := bulwark.Get(ctx, to, func(ctx context.Context) ([]Hit, error) {
//		return index.Search(ctx, q)
//	})
//	if errors.Is(err, timeout.ErrTimeout) {
//		// the search took longer than 2s
//	}
//
// # Whose deadline
//
// The operation's context ends at the policy's deadline or at the caller's,
// whichever is first (a tie goes to the caller). When the policy's deadline caused the failure, the call
// returns an [*ExceededError] (matching [ErrTimeout] and
// context.DeadlineExceeded); when the caller cancelled, or the caller's own
// deadline came first, it returns the caller's error, which
// [bulwark.CallerDone] recognises. Inside the operation,
// context.Cause(ctx) is [ErrTimeout] once the policy's deadline has passed.
// (An operation that never looked at ctx while both the policy's deadline
// passed and the caller cancelled is counted as the caller's: nothing says
// which came first.)
//
// # Waiting or detached
//
// By default the policy runs the operation on the caller's goroutine and
// waits for it to return, so the operation must honour ctx; a result that
// arrives after the deadline is returned if it is a success. The context
// starts a timer only when the operation first waits on ctx.Done(), so a
// call that returns without waiting (a cache hit) costs one allocation, and
// a call whose caller's deadline comes first costs none. Set
// Config.Detached for operations that may ignore ctx: the policy then runs
// the operation on a goroutine of its own and returns on time; the late
// result is dropped (the goroutine ends when the operation returns, and
// never blocks). A detached policy costs a goroutine and a channel per call.
// A panic in a detached operation is re-raised on the caller's goroutine if
// the caller is still waiting; after the caller has gone it crashes the
// program, as a panic on any goroutine does (put a recovery policy inside the
// timeout to turn it into an error instead).
//
// # Composition
//
// Inside a retry, a timeout bounds each attempt: bulwark.Chain(retry,
// breaker, timeout). Outside the retry it bounds the whole call, waits
// included.
//
// # Observation
//
// The Observer hears KindTimeout each time the policy's deadline passes.
// Snapshot counts calls, timeouts and, in detached mode, operations that are
// still running after their caller left.
package timeout
