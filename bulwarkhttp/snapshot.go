package bulwarkhttp

import (
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/retry"
)

// TransportSnapshot holds a [Transport]'s live figures.
type TransportSnapshot struct {
	// Retry is the retry policy's figures; zero without retries.
	Retry retry.Snapshot
	// Hosts holds the figures of each key that has a breaker or a hedger.
	Hosts map[string]HostSnapshot
}

// HostSnapshot holds the figures of one key's policies. A policy that is
// not configured has a zero snapshot.
type HostSnapshot struct {
	Breaker breaker.Snapshot
	Hedge   hedge.Snapshot
}

// Snapshot returns the transport's figures.
func (t *Transport) Snapshot() TransportSnapshot {
	var s TransportSnapshot
	if t.retry != nil {
		s.Retry = t.retry.Snapshot()
	}
	if t.hosts == nil {
		return s
	}
	all := t.hosts.all()
	s.Hosts = make(map[string]HostSnapshot, len(all))
	for _, h := range all {
		var hs HostSnapshot
		if h.breaker != nil {
			hs.Breaker = h.breaker.Snapshot()
		}
		if h.hedger != nil {
			hs.Hedge = h.hedger.Snapshot()
		}
		s.Hosts[h.key] = hs
	}
	return s
}
