// Package bulwarkgrpc applies bulwark's policies to gRPC: client
// interceptors (retries, a breaker per method or per target, per-attempt
// timeouts) and server interceptors (panic recovery, rate limits, a fixed or
// adaptive concurrency limit with priorities, handler timeouts), unary and
// streaming, and the mapping of bulwark's errors to status codes.
//
// # Client
//
//	policies, err := bulwarkgrpc.NewClient(bulwarkgrpc.ClientConfig{
//		Retry:          &retry.Config{MaxAttempts: 3, Budget: budget},
//		Breaker:        &breaker.Config{Name: "users"},
//		AttemptTimeout: time.Second,
//	})
//	...
//	conn, err := grpc.NewClient(target, append(policies.DialOptions(), creds)...)
//
// Unavailable and ResourceExhausted are retried by default
// (ClientConfig.RetryCodes), and so is an attempt that ran out of
// AttemptTimeout (its own deadline passed: a DeadlineExceeded the server
// sends before then is its answer, and is neither retried nor a
// *timeout.ExceededError); a delay the server sends as a
// google.rpc.RetryInfo detail (or, for a unary call without one, in the
// grpc-retry-pushback-ms trailer) replaces the backoff's, capped by
// Retry.MaxRetryAfter; a delay longer than ClientConfig.MaxPushback is not
// retried. When retries run out the error is a *retry.ExhaustedError
// wrapping the last status error (status.Code sees through it). The caller's deadline
// goes to the server with each attempt (gRPC propagates it), bounded
// further by AttemptTimeout.
//
// DialOptions turns grpc-go's own retries off (grpc.WithDisableRetry), so
// that a retryPolicy in the service config does not multiply the attempts:
// each request the server sees is one attempt for the breaker and the
// retry budget (with 3 and 3, a failing server would see 9 requests while
// the breaker and the budget counted 3). Retry with one of the two, not
// both. If you build the options yourself from UnaryInterceptor and
// StreamInterceptor, add grpc.WithDisableRetry. grpc-go's transparent
// retries stay: they resend only a request that never reached the
// handler. To use grpc-go's retries instead, leave ClientConfig.Retry nil,
// do not use DialOptions, and chain the interceptors yourself: the breaker
// then sees one outcome per call, not per send, and a bulwark server's
// refusals carry grpc-retry-pushback-ms, which grpc-go honours.
//
// The breaker (one per key, named <Name>:<key>, at most MaxBreakers kept)
// counts Unavailable, DeadlineExceeded, Internal, Unknown and DataLoss as
// failures, never the caller's own cancellation. An open breaker fails the
// call with Unavailable (with a RetryInfo), unwrapping to
// *breaker.OpenError, and the call is not retried. ClientConfig.Watchers
// (a prommetrics or otelmetrics Metrics, a health.Health or its Critical())
// are told of each breaker when it is made and when it is forgotten, so
// bulwark_breaker_state and /readyz follow every breaker from its first
// call.
//
// Streams are retried only until they commit: until the first response
// message arrives. Up to then the request messages are kept and sent again
// on the new attempt, so a client-streaming or bidirectional call that fails
// early is replayed transparently (up to ClientConfig.MaxReplayBytes of
// them, CloseSend included); after it, a failure reaches the caller, who
// may have acted on what it received. The breaker judges a stream's
// opening: its outcome is known at the first message. See
// [Client.StreamInterceptor].
//
// # Server
//
//	policies, err := bulwarkgrpc.NewServer(bulwarkgrpc.ServerConfig{
//		RateLimitByKey: perPeer,  // ResourceExhausted + RetryInfo
//		Adaptive:       limiter,  // Unavailable, low priority first
//		Timeout:        5 * time.Second,
//	})
//	...
//	srv := grpc.NewServer(policies.ServerOptions()...)
//
// The interceptors run, outermost first: panic recovery (Internal, "internal
// error"; the value is reported, not sent), rate limits (ResourceExhausted
// with a delay), the bulkhead or the adaptive limit (Unavailable with a
// delay; a stream holds its place until it ends; priorities come from the
// x-priority metadata by default), then the timeout (DeadlineExceeded).
//
// # Status codes
//
// [Code] and [Error] map bulwark's errors to codes: an open breaker, a full
// bulkhead and an overloaded adaptive limiter are Unavailable (the server
// cannot take the call now; another replica may), a rate limit is
// ResourceExhausted (the caller's quota; it must wait), a timeout is
// DeadlineExceeded, a recovered panic Internal (its value is not sent) and
// the caller's cancellation Canceled.
// A rejection that says when to come back carries it twice: as a RetryInfo
// detail, which this package's client reads, and in the
// grpc-retry-pushback-ms trailer, which grpc-go's own retry policy reads
// (a server's full Bulkhead asks for ServerConfig.BulkheadRetryAfter).
// The server interceptors apply Error to whatever a handler returns, so a
// handler may simply return the error of a policy it called.
package bulwarkgrpc
