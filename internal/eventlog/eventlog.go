// Package eventlog records the events a bulwark.Observer hears, so the
// policies' tests can check what was reported. It imports only the standard
// library and the root package, so the core policy packages can use it.
//
//	rec := &eventlog.Recorder{}
//	b, _ := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, Observer: rec})
//	...
//	if got := rec.Kinds(); !slices.Equal(got, want) { ... }
package eventlog

import (
	"slices"
	"sync"

	"github.com/bulwark-go/bulwark"
)

// A Recorder is a bulwark.Observer that keeps every event it hears, in
// order. The zero value is ready to use. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []bulwark.Event
}

// Observe appends e to the record.
func (r *Recorder) Observe(e bulwark.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns a copy of the events heard so far, oldest first.
func (r *Recorder) Events() []bulwark.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Len returns how many events were heard.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Kinds returns the kinds of the events heard so far, oldest first.
func (r *Recorder) Kinds() []bulwark.Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []bulwark.Kind
	for _, e := range r.events {
		ks = append(ks, e.Kind)
	}
	return ks
}

// Of returns the events of kind k heard so far, oldest first.
func (r *Recorder) Of(k bulwark.Kind) []bulwark.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []bulwark.Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// Reset forgets every event heard so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}
