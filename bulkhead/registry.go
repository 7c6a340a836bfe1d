package bulkhead

import (
	"fmt"
	"slices"
	"strings"
)

// A Registry holds named, isolated bulkheads, one per dependency: with 20
// permits for the database and 50 for an external API, a slow API can hold
// at most its own 50 permits and never takes the database's.
//
// The set of bulkheads is fixed when the registry is made, so looking one up
// takes no lock. A Registry is safe for concurrent use by multiple
// goroutines.
type Registry struct {
	pools map[string]*Bulkhead
	names []string
}

// NewRegistry makes one bulkhead per entry of configs, keyed by name. An
// entry's Config.Name defaults to its key; a Config.Name that differs from
// the key is an error, as is any error New would return for an entry.
func NewRegistry(configs map[string]Config) (*Registry, error) {
	r := &Registry{pools: make(map[string]*Bulkhead, len(configs))}
	for name, cfg := range configs {
		if cfg.Name == "" {
			cfg.Name = name
		} else if cfg.Name != name {
			return nil, fmt.Errorf("bulkhead: registry entry %q has Config.Name %q; leave it empty or make it equal to the key", name, cfg.Name)
		}
		b, err := New(cfg)
		if err != nil {
			return nil, fmt.Errorf("bulkhead: registry entry %q: %s", name, strings.TrimPrefix(err.Error(), "bulkhead: "))
		}
		r.pools[name] = b
		r.names = append(r.names, name)
	}
	slices.Sort(r.names)
	return r, nil
}

// Get returns the bulkhead named name, or nil if the registry has none.
func (r *Registry) Get(name string) *Bulkhead { return r.pools[name] }

// Names returns the names of the registry's bulkheads in sorted order.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// Snapshot returns the figures of every bulkhead in the registry, by name.
func (r *Registry) Snapshot() map[string]Snapshot {
	m := make(map[string]Snapshot, len(r.pools))
	for name, b := range r.pools {
		m[name] = b.Snapshot()
	}
	return m
}
