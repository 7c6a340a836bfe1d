// Package ratelimit admits events at a steady rate, with an optional burst:
// a [Limiter] for one stream of calls, and a [Keyed] limiter for one limit
// per client, tenant or token with a bound on the keys it remembers.
//
// Both use GCRA, the generic cell rate algorithm: the whole state of a
// limit is one "theoretical arrival time", the moment the limit would be
// back to a full burst. Admitting an event moves it 1/Rate later; an event
// is refused when that would put it more than Burst/Rate ahead of now. The
// arithmetic is exact integers, and a Limiter updates its state with a
// single compare-and-swap: no lock, no allocation, no background goroutine.
//
//	lim, err := ratelimit.New(ratelimit.Config{Name: "api", Rate: 100, Burst: 20})
//	...
//	if !lim.Allow() {
//		// too many requests
//	}
//
// Use it to protect a service from its callers (per-client limits in HTTP
// or gRPC middleware) or to stay within a dependency's quota (an API that
// allows 100 requests a minute: Limit: 100, Per: time.Minute).
//
// A Limiter is also a [bulwark.Policy]: Execute refuses a call that comes
// too early with a [*LimitedError] (matching [ErrLimited], and telling the
// retry policy when to come back through bulwark.RetryAfter), or waits for
// its turn when Config.MaxWait is set.
//
// # Smooth or bursty
//
// With Burst 1 events are spaced evenly, 1/Rate apart, and a
// quiet period earns nothing. With a larger Burst, up to Burst events may
// pass at once after a quiet period, and are then spaced at the rate again.
// The rate can be given as events per second (Rate: 2.5) or as Limit events
// per Per (Limit: 100, Per: time.Minute).
//
// # Methods
//
// The methods follow golang.org/x/time/rate:
//   - Allow, AllowAt, AllowN: may the events happen now (or at the time
//     given)? The At and N forms take the time as an argument, so tests need
//     no clock.
//   - Check, CheckN: the same, returning a [Decision] with the figures of
//     the RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and
//     Retry-After headers, without allocating.
//   - Reserve, ReserveN: take events now and learn how long to wait before
//     using them; Cancel gives back what later reservations do not
//     depend on, as in x/time/rate.
//   - Wait, WaitN: block until the events may happen. When the wait would
//     end at or after the context's deadline, they return a *LimitedError
//     at once rather than sleep and fail.
//
// SetLimit, SetRate and SetBurst change the limit while the limiter runs,
// keeping the events available now as they are; Tokens and Snapshot read
// the limiter's figures. Each has an At form (SetLimitAt, SetRateAt,
// SetBurstAt, TokensAt, SnapshotAt) that takes the time instead of reading
// the clock, for a timeline of AllowAt calls.
//
// # Exactness
//
// A Limiter admits exactly what one GCRA state admits on the same
// timeline, whatever the burst, the number of callers and GOMAXPROCS:
// every decision is one compare-and-swap on one state. (Earlier versions
// split a large burst over per-core shards; each shard then capped its own
// refill while another was drained, so the limiter admitted fewer events
// than its rate allowed, by a count that depended on GOMAXPROCS.) Callers
// on several cores share that state's cache line; the cost is measured
// side by side with golang.org/x/time/rate in the bench module.
//
// # Per-key limits
//
// [Keyed] gives every key its own limit (AllowKey, CheckKey, WaitKey,
// ExecuteKey, and PeekKey, which reads a key's state without remembering,
// forgetting or counting anything) and remembers at most KeyedConfig.MaxKeys keys, however many
// distinct keys arrive: keys are spread over shards of bounded size, idle
// keys are dropped as new ones come, and when a shard is full it forgets
// its least recently used key (exactly: each shard keeps its keys in order
// of last use). KeyedConfig.HashSeed fixes how keys are spread over the
// shards, for tests that must repeat. Keys are never put in metrics or
// events.
//
//	perClient, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{
//		Config:  ratelimit.Config{Rate: 5, Burst: 20},
//		MaxKeys: 50_000,
//	})
//	d := perClient.CheckKey(clientIP) // d.Allowed, d.Limit, d.Remaining, d.ResetAfter, d.RetryAfter
//
// # Observation
//
// The Observer hears KindRejected (Delay: when to come back) and KindWait
// (Delay: the time waited). Snapshot returns the totals allowed and
// rejected, the rate, the burst and the events available now.
//
// # Time
//
// A limiter reads the monotonic clock (time.Since its creation), which is
// cheaper than time.Now. Inside a testing/synctest bubble it reads the
// bubble's fake clock, so Wait and the methods without a time argument can
// be tested in virtual time; make the limiter inside the bubble. Time is
// kept in sixteenths of a nanosecond, so an interval such as 1/3 s or
// 3.33 ns (3e8 per second) is kept to within a sixteenth of a nanosecond.
package ratelimit
