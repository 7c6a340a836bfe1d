// Package adaptive sheds load before a dependency drowns in it: it limits
// the calls in flight, and moves that limit with the latency it measures, in
// the manner of Netflix's concurrency-limits and Envoy's adaptive
// concurrency filter. When latency stays at its no-load level the limit
// grows; when calls start to queue at the dependency and latency rises, the
// limit comes down, and calls beyond it are refused at once with
// [ErrOverloaded] instead of waiting in a queue that only grows.
//
// Use it in front of a dependency (or, in a server, in front of your own
// handler) whose capacity you do not know or that changes: a fixed bulkhead
// is either too small on a good day or too big on a bad one. A [Limiter] is
// a [bulwark.Policy]:
//
//	lim, err := adaptive.New(adaptive.Config{Name: "db"})
//	...
//	rows, err := bulwark.Get(ctx, lim, func(ctx context.Context) ([]Row, error) {
//		return db.Query(ctx, q)
//	})
//	if errors.Is(err, adaptive.ErrOverloaded) {
//		// shed: answer 503 at once, or serve a fallback
//	}
//
// Middleware that cannot wrap a closure uses the two-step form, which does
// not allocate:
//
//	tok, err := lim.Acquire(r.Context())
//	if err != nil {
//		http.Error(w, "overloaded", http.StatusServiceUnavailable)
//		return
//	}
//	next.ServeHTTP(w, r)
//	tok.OnSuccess() // or Done(err), OnDropped(), OnIgnore()
//
// # Algorithms
//
// [Gradient] (the default) keeps latency within a tolerance of the no-load
// latency, which it measures now and then with a short probe at half the
// limit. [Vegas] keeps a small, estimated number of calls queued at the
// dependency. [AIMD] adds one after each good window and cuts by a factor
// after a window with a timeout or with latency above a threshold you set.
// All three see the calls in windows of about as many calls as the limit and
// judge a window by its median latency.
//
// Against a model server whose latency grows past a capacity of C calls,
// offered five times what it can serve, Gradient and Vegas with their
// defaults, and AIMD with a threshold of 1.2 times the unloaded latency,
// settle within 25% of C (Gradient near 1.2·C, by its Tolerance) and keep
// the p99 latency of admitted calls within twice the unloaded latency; a
// fixed limit of 10·C lets it reach ten times (see sim_required_test.go).
// Real latency is noisier than the model: raise Gradient.Tolerance for a
// dependency whose latency varies a lot from call to call.
//
// # Priorities
//
// [WithPriority] (or [Limiter.AcquirePriority]) marks a call low, normal or
// critical. Low-priority calls may fill half the limit, normal calls all of
// it, and critical calls a reserve of a tenth beyond it, so as the limit
// falls, low-priority work is shed first and critical work last. A short
// queue (Config.QueueSize) admits waiting calls most important first, each
// for at most Config.MaxWait (the caller's queueing time, named as in
// bulkhead and ratelimit).
//
// # Reporting a call's end
//
// [Token.Done] sorts an error for the algorithm: success and ordinary errors
// are latency samples; a timeout (context.DeadlineExceeded) or a downstream
// [ErrOverloaded] is a sign of overload and lowers the limit; the caller's
// cancellation is ignored. Use [Token.OnSuccess], [Token.OnDropped] and
// [Token.OnIgnore] to decide yourself. Every admitted call must be reported
// exactly once, or its place is never given back.
//
// # Observing
//
// A shed call gets an [*OverloadedError] (the limit, the calls in flight,
// the call's priority, how long it waited, the latest latency), which
// matches ErrOverloaded and implements bulwark.RetryAfter.
// [Limiter.Snapshot] gives the limit, the calls in flight and queued, the
// calls shed and admitted, and the latest latency estimates.
// Config.Observer hears KindRejected for each call shed, KindWait when a
// queued call is admitted, KindCall when an admitted call ends, and
// KindLimitChange (From, To) each time the limit in force moves.
package adaptive
