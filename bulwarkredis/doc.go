// Package bulwarkredis shares bulwark's state between the replicas of a
// service through Redis: a rate limiter whose limit holds across every
// machine, and circuit breakers that open and close together. It is an
// integration of its own, so a service that needs neither compiles no
// Redis client.
//
// Use the Limiter when a limit must hold for the whole fleet, not per
// process: a partner's quota shared by all workers, a per-tenant plan
// (100 requests a minute per tenant, whichever replica serves them), a
// global cap on an expensive endpoint. It costs a round trip per call, or
// one per Lease calls on a hot key. A limit that only protects one process
// (its own CPU, its own pool) belongs in the local ratelimit package, which
// costs nothing per call. Use SyncBreaker when one replica finding a
// dependency down should spare the others from finding out one timeout at
// a time.
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//
//	perTenant, err := bulwarkredis.NewLimiter(client, bulwarkredis.LimiterConfig{
//		Name: "api", Limit: 100, Per: time.Minute, Burst: 20,
//		Replicas: 4, // while Redis is out, each replica admits a quarter
//	})
//	...
//	d, err := perTenant.Allow(ctx, tenantID)
//	if err != nil {
//		log.Print(err) // Redis did not answer; d says what LimiterConfig.Outage decided
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
// (LimiterConfig.Key); Allow, AllowN, AllowAtMost, AllowLimit (a limit
// given per call), Reset and ExecuteKey take the key (client, tenant,
// token) per call. AllowAll decides several limits (a tenant's and a
// global one) in one round trip, all or nothing; on Redis Cluster its keys
// need a common hash tag, most simply in LimiterConfig.Prefix.
//
// # When Redis is out
//
// No call waits past its caller's deadline or LimiterConfig.Timeout,
// whichever comes first, whatever the client's options: with
// go-redis's ContextTimeoutEnabled the call runs on the caller's
// goroutine, without it on a goroutine of its own that the caller stops
// waiting for (which costs a goroutine per call: set the option). A call Redis did not decide (unreachable, frozen,
// black-holed, too slow, answering with an error) is decided by
// LimiterConfig.Outage:
//
//   - OutageLocal (the default): each replica limits on its own at the
//     shared rate divided by LimiterConfig.Replicas. The fleet keeps about
//     its limit, plus one local burst per replica when the outage starts.
//   - OutageOpen: admitted. The service stays up; no limit holds.
//   - OutageClosed: refused. The limit holds; what it guards stops.
//
// Either way Allow returns the *UnavailableError alongside the decision,
// LimiterConfig.OnError hears of it, and Snapshot counts it. The caller's
// own cancellation is returned as such and is not a Redis failure; a
// deadline of the caller's that passes first is, and Outage decides.
//
// A breaker around Redis (LimiterConfig.RedisBreaker) opens after 3
// failures in a row: then a call costs one local decision, no round trip
// and no wait. After 250ms one call probes Redis; when it succeeds, shared
// limiting resumes. So a dead Redis costs at most 3 Timeouts per
// replica, then a probe every 250ms, and shared limiting resumes at most
// Timeout + 250ms + a round trip after Redis is back (a probe in flight
// when it comes back may still fail; the next one is 250ms later).
//
// A key holding something that is not a limiter's state (garbage, another
// type) is a fault: the script deletes it and decides as for a full
// bucket, and OnError hears of a *StateError.
//
// # Fewer round trips
//
// Once Redis refused a key until T, this replica refuses that key locally,
// without a round trip, until T (LimiterConfig.RefusalCache): a key over
// its limit stays over it until its debt is paid, whatever the others do.
//
// With LimiterConfig.Lease, a replica takes up to Lease tokens of a hot
// key in one round trip and spends them locally within LeaseTTL;
// concurrent callers wait for the one round trip in flight. The price:
// tokens are counted in Redis when taken, not when spent, so the fleet may
// admit up to Replicas×(Lease−1) more than the limit in a window, and
// tokens that expire unspent are lost. Use it for hot keys whose limit is
// much larger than Replicas×Lease. The cost beside redis_rate, with and
// without leasing, is measured in the bench module (bench/README.md).
//
// # Breaker sharing
//
// SyncBreaker listens to a breaker.Breaker and shares its automatic
// openings and closings through a Redis key and the pub/sub channel of the
// same name (sharded pub/sub, SPUBLISH and SSUBSCRIBE, on Redis Cluster or
// with SyncConfig.Sharded):
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
// T crosses the wire in Redis's clock: each replica measures its clock's
// offset from Redis's with TIME in its round trips
// (SyncSnapshot.ClockSkew), so skewed clocks, and messages delayed in a
// stalled Redis, do not shorten or lengthen the shared wait. Publication
// happens on a goroutine of the BreakerSync, never on the breaker's
// callers, and is retried while Redis is down. SyncBreaker's start takes
// at most SyncConfig.Timeout, whatever the client's options.
//
// # What the shared state can do
//
// Anyone who can write to the Redis can open the fleet's breakers. An
// opening received, or read from the key, is clamped to the receiving
// breaker's longest wait (breaker.Snapshot.LongestWait); times out of
// range, unreadable messages, stale closings and keys of another type are
// reported to SyncConfig.OnError as *StateError and ignored, and never
// stop a replica from starting. With SyncConfig.Secret, every message and
// key value carries an HMAC-SHA256 under the shared secret, and the rest
// is ignored.
//
// SyncConfig.Quorum opens the fleet only when that many replicas opened by
// themselves within SyncConfig.QuorumWindow, so one bad replica opens only
// itself. SyncConfig.FleetProbe makes probing fleet-wide: shortly before
// the wait ends, replicas race for a probe token (SET NX PX); the holder
// probes, the others stay open until its result reaches them, so the
// fleet sends HalfOpenCalls probes instead of that many per replica.
//
// # Testing
//
// The tests run against a real Redis at 127.0.0.1:6379, each under its own
// key prefix, and the fault tests against redis-servers they start on
// their own ports, freeze (SIGSTOP), kill, and cut off behind a proxy.
// Without Redis they are skipped, except in CI (CI=true), where they fail.
package bulwarkredis
