package exporter

import (
	"fmt"
	"sync"

	"github.com/bulwark-go/bulwark"
)

// Kinds holds an exporter's instruments for each kind of watched policy,
// made the first time a policy of the kind is watched. It is safe for
// concurrent use.
type Kinds[K any] struct {
	mu    sync.Mutex
	kinds map[string]kind[K] // by Description.Policy
}

type kind[K any] struct {
	desc *bulwark.Description
	v    K
}

// Get returns the instruments of d's kind, making them with mk the first
// time. It fails if mk fails, or if another Description of the same Policy
// was seen before: two descriptions of one kind would export clashing
// series.
func (k *Kinds[K]) Get(d *bulwark.Description, mk func(*bulwark.Description) (K, error)) (K, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.kinds[d.Policy]; ok {
		if e.desc != d {
			var zero K
			return zero, fmt.Errorf("two Descriptions of policy %q: every policy of one kind must return the same *bulwark.Description", d.Policy)
		}
		return e.v, nil
	}
	v, err := mk(d)
	if err != nil {
		return v, err
	}
	if k.kinds == nil {
		k.kinds = map[string]kind[K]{}
	}
	k.kinds[d.Policy] = kind[K]{desc: d, v: v}
	return v, nil
}

// All returns the instruments made so far, in no order.
func (k *Kinds[K]) All() []K {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]K, 0, len(k.kinds))
	for _, e := range k.kinds {
		out = append(out, e.v)
	}
	return out
}
