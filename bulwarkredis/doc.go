// Package bulwarkredis shares bulwark's state between the replicas of a
// service through Redis: a rate limiter whose limit holds across every
// machine, and circuit breakers that open and close together.
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//
//	perTenant, err := bulwarkredis.NewLimiter(client, bulwarkredis.LimiterConfig{
//		Name: "api", Limit: 100, Per: time.Minute, Burst: 20,
//	})
//	...
//	d, err := perTenant.Allow(ctx, tenantID)
//	if err != nil {
//		log.Print(err) // Redis did not answer; d says what the fail mode decided
//	}
//	if !d.Allowed {
//		// 429, with Retry-After: d.RetryAfter
//	}
//
//	shared, err := bulwarkredis.SyncBreaker(ctx, client, paymentsBreaker,
//		bulwarkredis.SyncConfig{Key: "bulwark:breaker:payments"})
//	...
//	defer shared.Stop()
//
// # Rate limiter
//
// A Limiter runs GCRA, the algorithm of the local ratelimit package, in one
// Lua script on the Redis server: one round trip per decision (EVALSHA,
// falling back to EVAL when the server does not know the script yet). The
// script reads the server's clock (TIME), so the replicas' clocks do not
// matter. A key holds one "theoretical arrival time" and expires when its
// bucket is full again, so Redis keeps only the keys used lately; a refusal
// writes nothing.
//
// Decisions are ratelimit.Decision values (Allowed, Limit, Remaining,
// RetryAfter, ResetAfter) and refusals *ratelimit.LimitedError errors
// (errors.Is ratelimit.ErrLimited, implementing bulwark.RetryAfter), as with
// the local limiter. A Limiter is a bulwark.Policy for one fixed key
// (LimiterConfig.Key); Allow, AllowN and ExecuteKey take the key (client,
// tenant, token) per call.
//
// # When Redis is unreachable
//
// Every call to Redis is bounded by LimiterConfig.Timeout (100ms by
// default; give the client ContextTimeoutEnabled so that the bound holds
// for a server that stalls, not only for one that refuses). A call Redis did
// not decide is admitted by default (fail open: an outage of Redis does not
// become an outage of the service, and the limit is not enforced meanwhile)
// or refused with LimiterConfig.FailClosed. Either way Allow returns the
// *UnavailableError alongside the decision, LimiterConfig.OnError hears of
// it, and Snapshot counts it. The caller's own cancellation is returned as
// such and is not a Redis failure.
//
// # Breaker sharing
//
// SyncBreaker listens to a breaker.Breaker and shares its automatic
// openings and closings through a Redis key and the pub/sub channel of the
// same name:
//
//   - When the breaker opens by itself, "open until T" is written to the
//     key (SET with PX, expiring at T) and published; the other replicas
//     open until the same moment with breaker.Breaker.OpenUntil, so they
//     stop calling the dependency too, then probe it as usual.
//   - When its half-open probes pass, the key is deleted and "close" is
//     published; the other replicas close with breaker.Breaker.CloseNow.
//   - A replica that starts, or reconnects, reads the key and adopts an
//     opening in progress.
//
// Changes applied from Redis carry breaker.CauseExternal and are not
// published again; manual states (ForceOpen, Disable, Reset) stay local;
// an opening never shortens a longer one; a closing closes every replica.
// The time crosses the wire as the time left, measured on the sender's
// clock, and the absolute end for diagnosis (SyncSnapshot.ClockSkew), so
// skewed clocks do not shorten or lengthen the shared wait. Publication
// happens on a goroutine of the BreakerSync, never on the breaker's callers,
// and is retried while Redis is down.
//
// # Testing
//
// The tests run against a real Redis at 127.0.0.1:6379, each under its own
// key prefix. Without one they are skipped, except in CI (CI=true), where
// they fail.
package bulwarkredis
