// Package sidecar is the bulwark command's engine: a resilience sidecar, an
// HTTP reverse proxy whose routes apply bulwark's policies (rate limit,
// bulkhead, retry, circuit breaker, timeout, chaos), configured by a YAML
// file, with an admin API, a live dashboard and a self-contained demo.
//
// Most users run the command (cmd/bulwark):
//
//	bulwark run -config bulwark.yaml
//	bulwark validate -config bulwark.yaml
//	bulwark demo -duration 30s
//
// The package serves the same from Go, as plain http.Handlers:
//
//	cfg, err := sidecar.ParseConfig(yamlBytes) // errors name the key: routes[1].breaker.failure_rate: ...
//	if err != nil { ... }
//	s, err := sidecar.New(cfg, sidecar.Options{Logger: logger})
//	if err != nil { ... }
//	http.Handle("/", s.Handler())           // the proxy
//	go http.ListenAndServe("127.0.0.1:9901", s.AdminHandler())
//
// # Embedding
//
// The exported API is what a Go program needs to run the proxy itself:
//
//   - a config: [ParseConfig] or [LoadConfig] (YAML, validated), or a
//     [Config] built by hand from [RouteConfig] and the policy blocks
//     ([RateLimitConfig] and its [RedisLimitConfig], [BulkheadConfig],
//     [RetryConfig], [BreakerConfig], [ChaosConfig], [AdminConfig],
//     [ReloadConfig], [TraceConfig]), whose
//     field comments state the defaults (the Default* constants) and bounds
//     (the Max* and Min* constants); errors are [ConfigErrors] of
//     [ConfigError], matching [ErrConfig];
//   - a server: [New] or [Open] with [Options] (logger, transport, listen
//     function, breaker callback);
//   - serving: [Server.Handler] and [Server.AdminHandler] to mount on your
//     own servers, or [Server.Serve] on your listeners, or
//     [Server.ListenAndServe]; both shut down gracefully when their context
//     ends, and [Server.Close] releases what the server holds;
//   - changing the config: [Server.Reload] (from the file) and
//     [Server.Apply] (a Config), [Server.Config], [Server.Generation];
//   - a route's breaker, to watch or force: [Server.Breaker] ([ErrNoRoute],
//     [ErrNoBreaker]);
//   - the headers on the proxy's own answers: [HeaderReason],
//     [HeaderAttempts];
//   - the command itself: [Main];
//   - simulation in virtual time (bulwark simulate): [ParseScenario],
//     [LoadScenario], [ScenarioFile], [NewSimulation],
//     [WithSimulatedMethod].
//
// The state of the policies is read over HTTP, from the admin handler
// (GET /admin/policies, /admin/history, /admin/events, /metrics): the
// JSON is the interface, not Go types.
//
// # Policies per route
//
// A request goes through the route's rate limit (429), its bulkhead (503),
// then, for each attempt, retries (idempotent methods only), the breaker
// (503 with Retry-After while open), a per-attempt timeout (504) and chaos
// faults, and finally the upstream. The policies are the bulwark packages
// themselves (ratelimit, bulkhead, retry, breaker, timeout, chaos), composed
// with bulwark.Chain; the sidecar adds the HTTP mapping: which statuses are
// failures, replayable bodies, Retry-After and RateLimit-* headers, and the
// X-Bulwark-Reason header on the answers it makes itself.
//
// # Configuration
//
// ParseConfig rejects unknown keys, keys given twice, wrong types and values
// out of range, each reported as a ConfigError naming its key path and line;
// it never adjusts a value. The full reference of keys, types and defaults
// is docs/sidecar.md in the repository:
// https://github.com/bulwark-go/bulwark/blob/main/docs/sidecar.md
//
// # Reloading
//
// Server.Reload (SIGHUP, POST /admin/reload, reload.poll) validates the new
// file first and keeps the running config if it is bad. A good file replaces
// the routes atomically; each route's breaker is kept by route name and
// reconfigured in place, so its state (a state an operator forced
// included) survives; other policies whose block did not change are kept
// too. Polling applies a file only once it reads the same twice in a row;
// write the file by renaming a complete one over it. A file that cannot be
// read (deleted, a directory) is logged and shown as the last reload's
// error while the running config keeps serving. A config's breaker windows
// may take MaxBreakerMemory together; at most MaxReportedErrors problems
// are reported, then a count.
//
// # Admin API and dashboard
//
// Server.AdminHandler serves the dashboard (GET /, a single embedded page
// that reads GET /admin/history, then follows the server-sent events of GET
// /admin/events, polling GET /admin/policies if they do not get through),
// breaker controls (POST /admin/breakers/{route}/open|close|reset|disable),
// POST /admin/reload, GET /metrics (Prometheus), GET /healthz and GET
// /readyz. It accepts only a Host that names it (localhost, *.localhost,
// an IP literal or admin.hosts), refuses cross-site requests, and with
// admin.token_file or admin.token_env requires the bearer token.
//
// # Demo
//
// `bulwark demo` (Main) runs a flaky upstream, the proxy and a bounded
// load, printing what the clients met each second; its engine is the
// internal package sidecar/internal/demo, not part of this API.
package sidecar
