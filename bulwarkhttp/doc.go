// Package bulwarkhttp applies bulwark's policies to net/http: a client
// [Transport] (an http.RoundTripper with retries, a breaker per upstream,
// per-attempt timeouts, hedging and rate limits) and server middlewares
// (panic recovery, concurrency limits, rate limits, load shedding by
// priority, handler timeouts, a breaker).
//
// It imports only the standard library and bulwark's own packages.
//
// # Client
//
// Use the [Transport] in front of any HTTP dependency you call: it retries
// what is safe to retry, keeps a breaker per upstream host, bounds each
// attempt, hedges slow idempotent calls and rate-limits per host.
//
//	tr, err := bulwarkhttp.NewTransport(bulwarkhttp.TransportConfig{
//		Retry:          &retry.Config{MaxAttempts: 3, Budget: budget},
//		Breaker:        &breaker.Config{Name: "api"},
//		AttemptTimeout: 2 * time.Second,
//	})
//	...
//	client := &http.Client{Transport: tr}
//
// Only requests that are safe to send twice are retried or hedged: the
// idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) and requests
// carrying an Idempotency-Key (or X-Idempotency-Key) header ([CanRetry]),
// narrowed by TransportConfig.RetryRequest if set, and never one whose body
// cannot be sent again (a body without GetBody) unless
// TransportConfig.MaxBufferedBody lets the transport keep a copy.
// Connection failures, attempt timeouts and the statuses 408, 429, 502, 503
// and 504 are retried; no other 4xx is, and neither is 500. An error
// reading the request's own body is a [*RequestBodyError]: not retried, not
// counted by the breaker. The error the retry policy sees for a retryable
// status is a [*StatusError], which carries the response and implements
// bulwark.RetryAfter.
// A Retry-After header, in seconds or as an HTTP-date, replaces the backoff's
// wait; one asking for longer than TransportConfig.MaxPushback is not
// waited for: the response goes back to the caller at once. When the
// retries run out, the caller gets the last response, status and body
// intact, rather than an error.
//
// The transport keeps the RoundTripper contract: it is safe for concurrent
// use, never modifies the caller's request (each attempt is a shallow copy;
// later ones take their body from GetBody), and always closes the request
// body. The responses it throws away (retried ones, hedging's losers) are
// drained (up to 64 KiB) and closed, so their connections go back to the
// pool. The per-attempt timeout
// runs until the response headers arrive; the body stays readable after
// RoundTrip returns, and the attempt's context is released when the caller
// closes it.
//
// # One request, at most MaxAttempts sends
//
// net/http's Transport resends a request by itself, unseen by its caller,
// when a reused keep-alive connection fails and the request is replayable
// (no body or a GetBody, and an idempotent method or an Idempotency-Key).
// Against an upstream that resets its connections, one attempt would reach
// it once per idle connection. The transport sends every attempt as a copy
// net/http will not replay (a body without GetBody; an empty, unsent one
// for a request that has none), so one request reaches the upstream at most
// MaxAttempts times whatever the upstream does, and every send is one
// attempt for the breaker, the rate limit and the retry budget.
//
// # Server
//
//	protect, err := bulwarkhttp.Protect(bulwarkhttp.ServerConfig{
//		RateLimitByKey: perClient,        // 429 + RateLimit-* headers
//		Breaker:        br,               // 503 while the handler keeps failing
//		Adaptive:       limiter,          // 503, low priority shed first
//		Timeout:        5 * time.Second,  // 503, handler's context cancelled
//	})
//	...
//	http.ListenAndServe(addr, protect(mux))
//
// Each middleware is also available alone as an ordinary
// func(http.Handler) http.Handler: [Recover], [RateLimit], [RateLimitByKey],
// [Breaker], [Bulkhead], [Adaptive], [Timeout]; [Stack] composes them,
// first outermost. [Protect] stacks them in the order its doc gives.
//
// The answers: a panic gives 500; a rate limit 429 with Retry-After and the
// RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset headers (on every
// response); an open breaker, a full bulkhead or a shedding adaptive
// limiter 503 with Retry-After; a handler timeout 503. The status a handler
// writes is recorded (the writer keeps Flush and Hijack reachable and
// unwraps for http.ResponseController): a 5xx counts as a failure for the
// breaker; a 503 or 504 reports overload to the adaptive limiter. Refusals
// by the middlewares themselves are never counted against the handler.
//
// Refusals and requests whose client went away are not counted as the
// handler's failures. Timeout does not buffer: writes go through under a
// lock (streaming works), writes after the deadline fail, and a response
// that had started is aborted; the handler's context is cancelled with the
// cause http.ErrHandlerTimeout. Adaptive's priority comes from the
// X-Priority header by default ([PriorityHeader]: critical or high,
// normal, low); a client can send any header, so set it at your edge or
// derive it from what you trust.
//
// Per-client limits key on [ClientIP]: the connection's peer, or, behind
// proxies you list as trusted, the rightmost X-Forwarded-For entry that is
// not one of them.
//
// # Order of the client policies
//
// Each upstream, named by TransportConfig.Key (the request's host by
// default), has its own breaker, hedger and rate limit; at most MaxHosts are
// kept, a closed breaker's first forgotten. [Transport.Snapshot] returns the
// retry figures and each upstream's breaker and hedge snapshots.
//
// For each request: retries on the outside; for each attempt, the upstream's
// breaker (an open breaker fails the attempt at once with a
// *breaker.OpenError, which is not retried), then the rate limit (a
// *ratelimit.LimitedError, not retried either), then the attempt itself,
// hedged if configured, each copy under the attempt timeout.
//
// # Cost
//
// A request that succeeds at once allocates one copy of the request beyond
// what the base transport does (the retry policy's per-call state is
// pooled); net/http's Transport then wraps the sealed body, two more. The transport's
// own work on that path is about 0.2 µs with retries and a breaker, against
// a loopback round trip of about 60 µs.
package bulwarkhttp
