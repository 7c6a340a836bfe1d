package bulwarkhttp

import (
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/perkey"
)

// A Watcher follows the breakers a [Transport] makes for its keys and
// forgets (TransportConfig.Watchers): prommetrics.Metrics,
// otelmetrics.Metrics and health.Health (and health.Health.Critical's
// result) are Watchers.
type Watcher interface {
	Watch(policies ...any) error
	Unwatch(policies ...any)
}

// host holds the policies of one key (an upstream host by default).
type host struct {
	key     string
	breaker *breaker.Breaker // nil: no breaker configured
	hedger  *hedge.Hedger    // nil: no hedging configured
	made    bool             // breaker made from the template (so watched), not given by BreakerFor
}

// hosts is a bounded map of keys to their policies, created lazily from
// the templates (internal/perkey, shared with bulwarkgrpc). Looking up a
// known key takes a read lock (or nothing, when it is the key looked up
// last) and allocates nothing.
type hosts struct {
	max        int
	breaker    *breaker.Config // templates; nil when not configured
	hedge      *hedge.Config
	breakerFor func(string) *breaker.Breaker // the caller's breakers, instead of the template
	watchers   []Watcher                     // told of the breakers made from the template

	m *perkey.Map[*host] // made by start, once the templates are set
}

// start makes the map, once the fields above are set.
func (hs *hosts) start() {
	c := perkey.Config[*host]{
		Max: hs.max,
		New: hs.make,
		// Forget a key whose breaker is closed (its state says nothing
		// worth keeping) before one whose breaker is not.
		Keep: func(h *host) bool { return h.breaker != nil && h.breaker.State() != breaker.StateClosed },
	}
	if ws := hs.watchers; len(ws) > 0 {
		c.Made = func(h *host) {
			if h.made {
				for _, w := range ws {
					_ = w.Watch(h.breaker) // see TransportConfig.Watchers
				}
			}
		}
		c.Forgotten = func(h *host) {
			if h.made {
				for _, w := range ws {
					w.Unwatch(h.breaker)
				}
			}
		}
	}
	hs.m = perkey.New(c)
}

func (hs *hosts) get(key string) (*host, error) { return hs.m.Get(key) }

func (hs *hosts) make(key string) (*host, error) {
	h := &host{key: key}
	if hs.breakerFor != nil {
		h.breaker = hs.breakerFor(key)
	}
	if hs.breaker != nil {
		c := *hs.breaker
		c.Name = name(c.Name, key)
		b, err := breaker.New(c)
		if err != nil {
			return nil, err
		}
		h.breaker, h.made = b, true
	}
	if hs.hedge != nil {
		c := *hs.hedge
		c.Name = name(c.Name, key)
		hd, err := hedge.New(c)
		if err != nil {
			return nil, err
		}
		h.hedger = hd
	}
	return h, nil
}

// name is the policy name for key: the template's name and the key.
func name(template, key string) string {
	if template == "" {
		return key
	}
	return template + ":" + key
}

// all returns the hosts known now.
func (hs *hosts) all() []*host {
	m := hs.m.All()
	out := make([]*host, 0, len(m))
	for _, h := range m {
		out = append(out, h)
	}
	return out
}
