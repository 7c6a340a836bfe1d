// Package bench holds side-by-side benchmarks of bulwark's policies and of
// other Go resilience libraries wrapping the same trivial function. It is a
// separate module so that the root module never requires those libraries.
//
// Run it with
//
//	go test -run '^$' -bench . -benchmem -cpu 1,2 -count 5
//
// and see README.md for the table.
//
// # Why the loops are written out
//
// Every benchmark spells out its own loop (call, check the error, keep the
// result) instead of handing a closure to a shared helper. That repetition
// is deliberate: a helper would put an indirect call into every measured
// iteration, about as long as the fastest rows themselves (an open breaker's
// Allow takes about a nanosecond), and would skew exactly the ratios this
// module exists to measure. Shared setup (building each library's policy)
// does live in helpers.
package bench
