package fallback

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
)

// Defaults of [StaleConfig].
const (
	DefaultMaxAge     = 5 * time.Minute
	DefaultMaxEntries = 1024
)

type keyContextKey struct{}

// WithKey returns a copy of ctx that names the result of the call made
// with it. A [Stale] policy (with the default StaleConfig.Key) remembers
// results and serves them back under this key. The key names a result,
// so one of another type needs a key of its own ("user:42",
// "orders:42").
func WithKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyContextKey{}, key)
}

// KeyFrom returns the key set by [WithKey], and whether there is one.
func KeyFrom(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(keyContextKey{}).(string)
	return k, ok
}

// StaleConfig configures a [Stale]. The zero value is usable.
type StaleConfig struct {
	// Name identifies the policy in events and snapshots.
	Name string
	// MaxAge is how old a remembered result may be and still be served.
	// Default: [DefaultMaxAge] (5 minutes). Negative is an error.
	MaxAge time.Duration
	// MaxEntries bounds the results remembered; past it the least recently
	// used one is forgotten. Default: [DefaultMaxEntries] (1024). Negative
	// is an error.
	MaxEntries int
	// Key returns the key of the call's result, and false for a call that
	// should pass through untouched. Default: [KeyFrom], the key set with
	// [WithKey].
	Key func(ctx context.Context) (string, bool)
	// IsHandled reports whether a failure may be answered with a stale
	// result. Nil means every error may. The caller's own cancellation
	// ([bulwark.CallerDone]) never is.
	IsHandled func(err error) bool
	// Observer receives KindFallback (Err is the call's error, Outcome
	// success) each time a stale result is served. Nil means no reporting.
	Observer bulwark.Observer
}

// Stale is a [bulwark.Policy] that serves stale-if-error: it remembers the
// last good result for each key, and when a later call with the same key
// fails, returns that result (and no error) if it is at most MaxAge old.
// Memory is bounded by MaxEntries, least recently used first out.
//
// Results are remembered as they are (no copy): a result that its caller
// later changes is served changed. A call that returns no value (through
// [bulwark.Run]) is never remembered. Stale is safe for concurrent use.
type Stale struct {
	name       string
	maxAge     time.Duration
	maxEntries int
	key        func(context.Context) (string, bool)
	handles    func(error) bool
	observer   bulwark.Observer
	epoch      time.Time // entry times are durations since it: reading the monotonic clock alone is cheaper

	mu      sync.Mutex
	entries map[string]*list.Element // of *staleEntry
	lru     list.List                // most recently used at the front

	calls, unkeyed, stored, served, misses, expired, evicted atomic.Uint64
}

type staleEntry struct {
	key string
	v   any
	at  time.Duration // since epoch
}

// NewStale returns a Stale policy, or an error naming a bad field.
func NewStale(c StaleConfig) (*Stale, error) {
	if c.MaxAge < 0 {
		return nil, fmt.Errorf("fallback: StaleConfig.MaxAge is %v; it must not be negative", c.MaxAge)
	}
	if c.MaxEntries < 0 {
		return nil, fmt.Errorf("fallback: StaleConfig.MaxEntries is %d; it must not be negative", c.MaxEntries)
	}
	s := &Stale{name: c.Name, maxAge: c.MaxAge, maxEntries: c.MaxEntries, key: c.Key,
		handles: c.IsHandled, observer: c.Observer, epoch: time.Now(), entries: map[string]*list.Element{}}
	if s.maxAge == 0 {
		s.maxAge = DefaultMaxAge
	}
	if s.maxEntries == 0 {
		s.maxEntries = DefaultMaxEntries
	}
	if s.key == nil {
		s.key = KeyFrom
	}
	return s, nil
}

// Name returns StaleConfig.Name.
func (s *Stale) Name() string { return s.name }

// Execute runs op. A success is remembered under the call's key; a
// failure is answered with the result remembered under that key if there
// is one at most MaxAge old, and returned unchanged otherwise. A call
// without a key passes through.
func (s *Stale) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	s.calls.Add(1)
	key, ok := s.key(ctx)
	v, err := op.Call(ctx)
	if !ok {
		s.unkeyed.Add(1)
		return v, err
	}
	if err == nil {
		if v != nil {
			s.store(key, v)
		}
		return v, nil
	}
	if bulwark.CallerDone(ctx, err) || (s.handles != nil && !s.handles(err)) {
		return v, err
	}
	sv, found := s.lookup(key)
	if !found {
		s.misses.Add(1)
		return v, err
	}
	s.served.Add(1)
	if s.observer != nil {
		s.observer.Observe(bulwark.Event{Kind: bulwark.KindFallback, Policy: "fallback", Name: s.name,
			Outcome: bulwark.OutcomeSuccess, Err: err})
	}
	return sv, nil
}

func (s *Stale) store(key string, v any) {
	now := time.Since(s.epoch)
	evicted := false
	s.mu.Lock()
	if el, ok := s.entries[key]; ok {
		e := el.Value.(*staleEntry)
		e.v, e.at = v, now
		s.lru.MoveToFront(el)
	} else {
		if s.lru.Len() >= s.maxEntries {
			last := s.lru.Back()
			delete(s.entries, last.Value.(*staleEntry).key)
			s.lru.Remove(last)
			evicted = true
		}
		s.entries[key] = s.lru.PushFront(&staleEntry{key: key, v: v, at: now})
	}
	s.mu.Unlock()
	s.stored.Add(1)
	if evicted {
		s.evicted.Add(1)
	}
}

// lookup returns the result remembered under key if it is young enough,
// and forgets it if it is too old.
func (s *Stale) lookup(key string) (any, bool) {
	now := time.Since(s.epoch)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*staleEntry)
	if now-e.at > s.maxAge {
		delete(s.entries, key)
		s.lru.Remove(el)
		s.expired.Add(1)
		return nil, false
	}
	s.lru.MoveToFront(el)
	return e.v, true
}

// Forget drops the result remembered under key, if any: call it when the
// data behind the key changed and an old copy must not be served.
func (s *Stale) Forget(key string) {
	s.mu.Lock()
	if el, ok := s.entries[key]; ok {
		delete(s.entries, key)
		s.lru.Remove(el)
	}
	s.mu.Unlock()
}

// StaleSnapshot holds a [Stale]'s live figures, counted since it was made.
type StaleSnapshot struct {
	Calls   uint64 // calls to Execute
	Unkeyed uint64 // calls without a key, passed through
	Stored  uint64 // successes remembered
	Served  uint64 // failures answered with a stale result
	Misses  uint64 // failures with no result young enough to serve
	Expired uint64 // results found too old and forgotten
	Evicted uint64 // results forgotten to stay within MaxEntries
	Entries int    // results remembered now
}

// Snapshot returns the policy's figures.
func (s *Stale) Snapshot() StaleSnapshot {
	s.mu.Lock()
	n := s.lru.Len()
	s.mu.Unlock()
	return StaleSnapshot{Calls: s.calls.Load(), Unkeyed: s.unkeyed.Load(), Stored: s.stored.Load(),
		Served: s.served.Load(), Misses: s.misses.Load(), Expired: s.expired.Load(),
		Evicted: s.evicted.Load(), Entries: n}
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (s *Stale) Synchronous() bool { return true }
