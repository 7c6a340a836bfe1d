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
// # Body
//
// Both endpoints write the same JSON document, a [Report]:
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
// in a state that stops it serving. The figures are those of the policy's
// Snapshot that the Prometheus exporter also reports, under the same names.
package health
