// Package health serves liveness and readiness endpoints that report the
// state of bulwark's policies as JSON.
//
// Register the policies to report with Watch, and those whose failure makes
// the service unready with WatchCritical; then mount the two handlers:
//
//	h := health.New()
//	if err := h.WatchCritical(dbBreaker); err != nil { ... }
//	if err := h.Watch(apiBreaker, pool, limiter); err != nil { ... }
//	mux.Handle("GET /livez", h.Live())
//	mux.Handle("GET /readyz", h.Ready())
//
// # Status codes
//
// Live answers 200 whenever the process can answer at all: an open breaker
// means a dependency is down, not that restarting this process would help.
// Ready answers 200 unless a policy registered with WatchCritical is in a
// state that stops it serving (a breaker that is open or forced open), and
// then 503, so that a load balancer sends traffic elsewhere until the breaker
// lets calls through again. A half-open breaker is ready: it needs calls to
// find out whether the dependency is back. Both answer GET and HEAD (HEAD
// with no body) and 405 to any other method.
//
// [Health.Critical] is the Health as a watcher whose Watch is WatchCritical,
// for the Watchers of bulwarkgrpc and bulwarkhttp: every per-key breaker
// they make is then critical from its first call. [Health.Unwatch] stops
// reporting a policy.
//
// # Body
//
// Both endpoints write the same JSON document, a [Report], with
// Content-Type: application/json and Cache-Control: no-store:
//
//	{
//	  "status": "unavailable",
//	  "policies": [
//	    {"name": "db", "kind": "breaker", "critical": true, "ready": false, "state": "open",
//	     "figures": {"failure_ratio": 0.6, "slow_call_ratio": 0}},
//	    {"name": "pool", "kind": "bulkhead", "critical": false, "ready": true,
//	     "figures": {"capacity": 20, "in_use": 3, "waiting": 0}}
//	  ]
//	}
//
// status is "ok" or "unavailable" (Live always says "ok"); policies are in
// the order they were registered; ready is false only for a critical policy
// in a state that stops it serving; state is present for policies with
// states. The figures are those the policy reports to the metrics exporters
// (bulwark.Watchable), under their short names (in_use, failure_ratio,
// rtt_seconds, allowed); a figure split by a label is an object
// ("injected": {"error": 3, "latency": 0, ...}), and an infinite value (an
// unlimited rate) is null.
package health
