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
// is the README (part "The bulwark command").
//
// # Reloading
//
// Server.Reload (SIGHUP, POST /admin/reload, reload.poll) validates the new
// file first and keeps the running config if it is bad. A good file replaces
// the routes atomically; each route's breaker is kept by route name and
// reconfigured in place, so its state survives; other policies whose block
// did not change are kept too.
//
// # Admin API and dashboard
//
// Server.AdminHandler serves the dashboard (GET /, a single embedded page
// that polls GET /admin/policies every second), breaker controls (POST
// /admin/breakers/{route}/open|close|reset|disable), POST /admin/reload,
// GET /metrics (Prometheus), GET /healthz and GET /readyz.
//
// # Demo
//
// RunDemo starts a flaky upstream, the proxy and a bounded load, prints what
// the clients met each second and returns a DemoSummary. Its network can be
// replaced (DemoConfig.ListenFunc and Dial), so that a test runs it in
// memory and in virtual time with testing/synctest.
package sidecar
