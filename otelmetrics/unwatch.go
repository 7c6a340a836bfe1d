package otelmetrics

// Unwatch stops observing each of policies, so that a policy made again
// under the same name (a per-key breaker of bulwarkgrpc or bulwarkhttp
// that was forgotten and is made anew) can be watched in its place. A
// policy is recognised by identity, not by name; one not watched is
// ignored.
//
// Watch and Unwatch together make a Metrics a watcher for
// bulwarkgrpc.ClientConfig.Watchers and bulwarkhttp.TransportConfig.Watchers,
// which follow the breakers those make and forget.
func (m *Metrics) Unwatch(policies ...any) { m.watched.Remove(policies) }
