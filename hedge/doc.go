// Package hedge sends a second copy of a slow call and takes whichever
// answer comes first: hedged requests, as described in "The Tail at Scale"
// (Dean and Barroso) and done by gRPC's hedging policy.
//
// A [Hedger] is a [bulwark.Policy]:
//
//	h, err := hedge.New(hedge.Config{
//		Name:       "search",
//		Delay:      50 * time.Millisecond, // until 100 calls have been timed
//		Percentile: 0.95,                  // then: hedge the slowest 5%
//	})
//	...
//	page, err := bulwark.Get(ctx, h, func(ctx context.Context) (Page, error) {
//		return backend.Search(ctx, query)
//	})
//
// Use it to cut tail latency on idempotent reads served by several replicas
// (search, key-value lookups, DNS), where a few calls are slow for reasons
// unrelated to the request. Hedge only idempotent operations: several
// copies of a call may run, and more than one may complete on the
// dependency.
//
// # How a call runs
//
// The first attempt starts at once, on its own goroutine. If it has not
// succeeded after the delay, a second attempt starts beside it, and so on up
// to Config.MaxHedges more. The first attempt to succeed wins: its result is
// returned and the context of the others is cancelled. A failure does not
// win while another attempt is still running; when every attempt has failed,
// the last one's result is returned. Config.IsSuccess decides what counts as
// a success (an authoritative "not found" may end the call as well as a
// result does), and Config.IsHedgeable lets an early failure start the next
// attempt at once.
//
// Results travel from the attempts to the caller over a channel; no attempt
// writes anything the caller reads. When the caller's context ends, Execute
// returns its error at once; the attempts end when they notice their context
// is cancelled. A panic in an attempt is re-raised on the caller's
// goroutine. Execute cancels the attempts' context when it returns, so read
// a streamed response body inside the operation. Each call costs a
// goroutine, a timer, a context and a channel, hedged or not.
//
// # The delay
//
// A fixed Config.Delay is simplest. With Config.Percentile the delay follows
// the service: it is that percentile of the durations of the last
// Config.Window successful attempts, floored at Config.MinDelay, once
// Config.MinSamples have been seen (Delay is used until then). At the 95th
// percentile, about one call in twenty hedges.
//
// # The budget
//
// When a dependency slows down for everyone, every call would hedge and
// double its load at the worst moment. Config.Budget caps hedges at a share
// of calls: a refused hedge is counted, reported as
// KindBudgetExhausted, and the call carries on with the attempts it has.
//
// # Observing
//
// [Hedger.Snapshot] counts calls, hedges, hedge wins and budget refusals and
// gives the current delay. Config.Observer hears KindHedge when a hedged
// attempt starts and KindHedgeWon when one produces the result.
package hedge
