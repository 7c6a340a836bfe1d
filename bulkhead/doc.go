// Package bulkhead limits how many calls run at once, so that one slow
// dependency cannot take every goroutine, connection or thread of a service.
//
// A [Bulkhead] holds a fixed number of permits. A call takes one, runs, and
// gives it back; when none is free the call is rejected at once with a
// [*FullError] (matching [ErrFull], carrying the bulkhead's name and
// capacity), or waits up to Config.MaxWait for one:
//
//	db, err := bulkhead.New(bulkhead.Config{Name: "db", MaxConcurrent: 20, MaxWait: 50 * time.Millisecond})
//	...
//	user, err := bulwark.Get(ctx, db, func(ctx context.Context) (User, error) {
//		return store.User(ctx, id)
//	})
//	if errors.Is(err, bulkhead.ErrFull) {
//		// shed the request: 503
//	}
//
// # One bulkhead per dependency
//
// Isolation is the point: give each dependency its own pool, so that an
// external API that hangs holds only its own permits. A [Registry] builds
// and names them together:
//
//	pools, err := bulkhead.NewRegistry(map[string]bulkhead.Config{
//		"db":  {MaxConcurrent: 20},
//		"api": {MaxConcurrent: 50, MaxWait: 100 * time.Millisecond},
//	})
//	...
//	err = bulwark.Run(ctx, pools.Get("api"), callAPI)
//
// # Waiting
//
// With Config.MaxWait 0 a full bulkhead rejects at once. With a
// positive MaxWait, or [WaitForever], callers queue and are served first in,
// first out: a permit given back goes straight to the longest waiter, so a
// stream of new callers cannot starve it. The caller's context always ends a
// wait early; the call then returns ctx.Err(), which is not counted as a
// rejection.
//
// # Two steps, for middleware
//
// [Bulkhead.Acquire] (or [Bulkhead.TryAcquire], which never waits) and
// [Bulkhead.Release] split Execute in two for code that cannot wrap a
// function. They return no closure and allocate nothing: each successful
// Acquire must be matched by exactly one Release. [Bulkhead.InUse] and
// [Bulkhead.Available] read the permits held and free (one atomic load,
// taking nothing): a test can check that every permit came back.
//
// # Changing the capacity
//
// [Bulkhead.SetCapacity] changes the number of permits while calls run.
// Permits already held stay valid: after a shrink, holders finish and
// nobody new gets in until fewer than the new capacity are in use; after a
// growth, waiters are let in at once.
//
// # Observation
//
// The Observer hears KindRejected, KindWait (Delay: the time waited) and
// KindCall (Duration, Outcome). [Bulkhead.Snapshot] returns the capacity,
// the permits in use, the callers waiting, and the totals acquired and
// rejected.
//
// # Cost
//
// When a permit is free and nobody waits, taking and giving it back is one
// compare-and-swap each, with no lock and no allocation; it is cheaper than a
// buffered channel used as a semaphore. The mutex and the wait queue come
// into play only when the bulkhead is full. Waiter records (a channel and,
// with a finite MaxWait, a timer) are pooled per bulkhead, so a wait
// usually allocates nothing.
//
// # Testing
//
// A bulkhead used inside a testing/synctest bubble should be made inside it:
// the channels and timers of its waiters belong to the bubble that made
// them.
package bulkhead
