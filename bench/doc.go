// Package bench holds side-by-side benchmarks of bulwark's policies and of
// other Go resilience libraries wrapping the same trivial function. It is a
// separate module so that the root module never requires those libraries.
//
// Run it with
//
//	go test -run '^$' -bench . -benchmem -cpu 1,2 -count 5
//
// and see README.md for the table.
package bench
