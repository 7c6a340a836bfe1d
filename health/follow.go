package health

// Unwatch stops reporting each of policies, so that a policy made again
// under the same name (a per-key breaker of bulwarkgrpc or bulwarkhttp that
// was forgotten and is made anew) can be registered in its place. A policy
// is recognised by identity, not by name; one not registered is ignored.
//
// Watch and Unwatch make a Health a watcher for
// bulwarkgrpc.ClientConfig.Watchers and bulwarkhttp.TransportConfig.Watchers,
// which follow the breakers those make and forget; [Health.Critical] is the
// same for critical policies.
func (h *Health) Unwatch(policies ...any) { h.entries.Remove(policies) }

// Critical returns h as a watcher whose Watch is [Health.WatchCritical]:
// the policies it is given make the service unready while they cannot
// serve. Give it to bulwarkgrpc.ClientConfig.Watchers or
// bulwarkhttp.TransportConfig.Watchers so that every breaker those make is
// critical, including one made again after it was forgotten.
func (h *Health) Critical() *Critical { return &Critical{h: h} }

// Critical registers the policies it watches as critical in a [Health].
// It is safe for concurrent use.
type Critical struct{ h *Health }

// Watch is [Health.WatchCritical].
func (c *Critical) Watch(policies ...any) error { return c.h.WatchCritical(policies...) }

// Unwatch is [Health.Unwatch].
func (c *Critical) Unwatch(policies ...any) { c.h.Unwatch(policies...) }
