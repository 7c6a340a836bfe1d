package otelmetrics

import "github.com/bulwark-go/bulwark/internal/catalog"

// Unwatch stops observing the Snapshot of each of policies, so that a
// policy made again under the same name (a per-key breaker of bulwarkgrpc
// or bulwarkhttp that was forgotten and is made anew) can be watched in its
// place. A policy is recognised by identity, not by name; one not watched
// is ignored.
//
// Watch and Unwatch together make a Metrics a watcher for
// bulwarkgrpc.ClientConfig.Watchers and bulwarkhttp.TransportConfig.Watchers,
// which follow the breakers those make and forget.
func (m *Metrics) Unwatch(policies ...any) {
	w := m.watched
	w.mu.Lock()
	defer w.mu.Unlock()
	srcs := make([]catalog.Source, len(w.list))
	for i, e := range w.list {
		srcs[i] = e.src
	}
	keep := catalog.Without(srcs, policies)
	list := make([]watched, 0, len(keep))
	for _, e := range w.list {
		if len(list) < len(keep) && keep[len(list)].Policy == e.src.Policy {
			list = append(list, e)
		}
	}
	w.list = list
}
