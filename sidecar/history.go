package sidecar

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
)

// historySize is how many recent state changes a route's breaker keeps for
// the admin API.
const historySize = 32

// breakerEntry is a route's breaker, kept by route name across reloads
// (reconfigured in place), with the record of its recent state changes.
type breakerEntry struct {
	br     *breaker.Breaker
	remove func()

	mu      sync.Mutex
	changes []stateChange // ring, oldest first once full
	next    int

	opened, closed atomic.Uint64
}

func newBreakerEntry(br *breaker.Breaker, onChange func(string, breaker.Change)) *breakerEntry {
	e := &breakerEntry{br: br}
	e.remove = br.AddListener(func(c breaker.Change) {
		e.record(c)
		if onChange != nil {
			onChange(br.Name(), c)
		}
	})
	return e
}

func (e *breakerEntry) record(c breaker.Change) {
	switch {
	case c.To == breaker.StateOpen && c.From != breaker.StateOpen:
		e.opened.Add(1)
	case c.To == breaker.StateClosed:
		e.closed.Add(1)
	}
	sc := stateChange{At: c.At, From: c.From.String(), To: c.To.String(), Cause: c.Cause.String()}
	if !c.Until.IsZero() {
		sc.Until = c.Until
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.changes) < historySize {
		e.changes = append(e.changes, sc)
		return
	}
	e.changes[e.next] = sc
	e.next = (e.next + 1) % historySize
}

// recent returns the recorded changes, newest first.
func (e *breakerEntry) recent() []stateChange {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]stateChange, 0, len(e.changes))
	for i := range e.changes {
		// walk back from the newest
		j := (e.next - 1 - i + 2*len(e.changes)) % len(e.changes)
		if len(e.changes) < historySize {
			j = len(e.changes) - 1 - i
		}
		out = append(out, e.changes[j])
	}
	return out
}

// stateChange is a breaker state change as the admin API reports it.
type stateChange struct {
	At    time.Time `json:"at"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Cause string    `json:"cause"`
	Until time.Time `json:"until,omitzero"`
}
