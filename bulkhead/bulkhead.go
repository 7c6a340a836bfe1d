package bulkhead

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
	"github.com/bulwark-go/bulwark/internal/waitq"
)

// WaitForever, as Config.MaxWait, makes a call wait for a permit for as long
// as its context allows.
const WaitForever time.Duration = math.MaxInt64

// MaxCapacity is the largest capacity a bulkhead accepts.
const MaxCapacity = 1<<31 - 1

// Config configures a [Bulkhead].
type Config struct {
	// Name identifies the bulkhead in events, errors and metrics.
	// Default: "".
	Name string

	// MaxConcurrent is the number of permits: the most calls that run at
	// once. It has no default: New returns an error unless
	// 1 <= MaxConcurrent <= MaxCapacity.
	MaxConcurrent int

	// MaxWait is how long a call may wait for a permit when all are in use:
	// the caller's queueing time, as MaxWait is in ratelimit and adaptive.
	// Default 0: do not wait; a call that finds the bulkhead full is
	// rejected at once with a *FullError. [WaitForever] waits until a permit
	// frees up. The caller's context always ends a wait early, and then the
	// call returns ctx.Err(). Waiters are served first in, first out.
	// Negative values are an error.
	MaxWait time.Duration

	// Clock, if set, is the clock the MaxWait timers run on and waits and
	// calls are timed on: a clocktest.Clock ends a wait when the test moves
	// the clock. Default: nil, the real clock (the fake one inside a
	// testing/synctest bubble).
	Clock bulwark.Clock

	// Observer, if not nil, hears of rejections (KindRejected, Err the
	// *FullError), of calls that had to wait (KindWait, Delay the wait) and
	// of every call Execute ran (KindCall: Duration, and Outcome success,
	// failure, or ignored for the caller's own cancellation).
	// Default: nil, which costs one nil check.
	Observer bulwark.Observer
}

// Bulkhead limits how many calls run at once. It implements
// [bulwark.Policy]; [Bulkhead.Acquire] and [Bulkhead.Release] are the same
// limit in two steps, for middleware that cannot wrap a function.
//
// A Bulkhead is safe for concurrent use by multiple goroutines.
type Bulkhead struct {
	// state and acquired change together on every call: keep them on one
	// cache line, away from the fields below that are only read.
	state    atomic.Uint64
	acquired atomic.Uint64
	_        [48]byte

	rejected atomic.Uint64
	waiting  atomic.Int64 // written under mu, read by Snapshot
	fullErr  atomic.Pointer[FullError]

	name    string
	maxWait time.Duration
	obs     bulwark.Observer
	clk     bulwark.Clock

	waiters sync.Pool // of *waiter

	mu    sync.Mutex
	queue waitq.Queue[waitTimer]
}

// New returns a bulkhead configured by cfg, or an error naming the field
// that is out of range.
func New(cfg Config) (*Bulkhead, error) {
	if err := checkCapacity("Config.MaxConcurrent", cfg.MaxConcurrent); err != nil {
		return nil, err
	}
	if cfg.MaxWait < 0 {
		return nil, fmt.Errorf("bulkhead: Config.MaxWait is %v; it must be 0 (do not wait), positive, or WaitForever", cfg.MaxWait)
	}
	b := &Bulkhead{name: cfg.Name, maxWait: cfg.MaxWait, obs: cfg.Observer, clk: cfg.Clock}
	b.state.Store(withCap(0, int64(cfg.MaxConcurrent)))
	b.fullErr.Store(&FullError{Name: cfg.Name, Capacity: cfg.MaxConcurrent})
	return b, nil
}

func checkCapacity(field string, n int) error {
	if n < 1 || n > maxCapacity {
		return fmt.Errorf("bulkhead: %s is %d; it must be between 1 and %d", field, n, maxCapacity)
	}
	return nil
}

// Name returns Config.Name.
func (b *Bulkhead) Name() string { return b.name }

// Execute runs op once it holds a permit and gives the permit back when op
// returns (or panics). When no permit can be had it returns a *FullError
// (matching [ErrFull]) without running op, or ctx.Err() if the context ended
// the wait.
func (b *Bulkhead) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	if err := b.Acquire(ctx); err != nil {
		return nil, err
	}
	if b.obs != nil {
		return b.observedCall(ctx, op)
	}
	defer b.Release()
	return op.Call(ctx)
}

func (b *Bulkhead) observedCall(ctx context.Context, op bulwark.Operation) (v any, err error) {
	start := clock.Now(b.clk)
	released := false
	defer func() {
		if !released { // op panicked
			b.Release()
		}
	}()
	v, err = op.Call(ctx)
	b.Release()
	released = true
	outcome := bulwark.OutcomeSuccess
	if bulwark.CallerDone(ctx, err) {
		outcome = bulwark.OutcomeIgnored
	} else if err != nil {
		outcome = bulwark.OutcomeFailure
	}
	b.obs.Observe(bulwark.Event{
		Kind: bulwark.KindCall, Policy: "bulkhead", Name: b.name,
		Outcome: outcome, Duration: clock.Since(b.clk, start), Err: err,
	})
	return v, err
}

// Acquire takes a permit, waiting for one as Config.MaxWait allows. It
// returns nil when the caller holds a permit, which it must give back with
// exactly one call of [Bulkhead.Release]; a *FullError (matching [ErrFull])
// when the bulkhead stayed full; or ctx.Err() when the context ended the
// wait. Like golang.org/x/sync/semaphore, Acquire may succeed without
// looking at ctx when a permit is free.
//
// Acquire and Release are the two-step form of Execute for middleware. They
// return no closure, so they do not allocate.
func (b *Bulkhead) Acquire(ctx context.Context) error {
	if b.tryAcquire() {
		return nil
	}
	return b.acquireSlow(ctx)
}

// TryAcquire takes a permit if one is free now and reports whether it did;
// it never waits, whatever Config.MaxWait says. A caller that got true must
// call [Bulkhead.Release] once. A false counts as a rejection.
func (b *Bulkhead) TryAcquire() bool {
	if b.tryAcquire() {
		return true
	}
	b.reject()
	return false
}

// tryAcquire is the fast path: one compare-and-swap when a permit is free
// and nobody waits.
func (b *Bulkhead) tryAcquire() bool {
	for {
		s := b.state.Load()
		if s&queuedBit != 0 || inUseOf(s) >= capOf(s) {
			return false
		}
		if b.state.CompareAndSwap(s, s+1) {
			b.acquired.Add(1)
			return true
		}
	}
}

func (b *Bulkhead) reject() error {
	b.rejected.Add(1)
	err := b.fullErr.Load()
	if b.obs != nil {
		b.obs.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "bulkhead", Name: b.name, Err: err})
	}
	return err
}

func (b *Bulkhead) acquireSlow(ctx context.Context) error {
	if b.maxWait == 0 {
		return b.reject()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	for {
		s := b.state.Load()
		if s&queuedBit == 0 && inUseOf(s) < capOf(s) {
			if b.state.CompareAndSwap(s, s+1) { // a permit came back meanwhile
				b.mu.Unlock()
				b.acquired.Add(1)
				return nil
			}
			continue
		}
		// Setting queued in the same compare-and-swap that saw no free
		// permit means no release can slip in between unseen: from here
		// on releases take the mutex and find this waiter.
		if s&queuedBit != 0 || b.state.CompareAndSwap(s, s|queuedBit) {
			break
		}
	}
	w := b.newWaiter()
	b.queue.PushBack(w)
	b.waiting.Store(int64(b.queue.Len()))
	b.mu.Unlock()

	var start time.Time
	if b.obs != nil {
		start = clock.Now(b.clk)
	}
	var expired <-chan time.Time
	if b.maxWait != WaitForever {
		if w.Value.timer == nil {
			w.Value.timer = clock.NewTimer(b.clk, b.maxWait)
		} else {
			w.Value.timer.Reset(b.maxWait)
		}
		expired = w.Value.timer.C()
	}

	done := ctx.Done()
	if expired == nil && done == nil { // nothing can end the wait but a permit
		<-w.Ready()
		b.putWaiter(w)
		return b.admitted(start)
	}
	select {
	case <-w.Ready():
		b.stopTimer(w)
		b.putWaiter(w)
		return b.admitted(start)

	case <-expired:
		b.mu.Lock()
		if w.Granted() { // a permit arrived as the time ran out: keep it
			<-w.Ready()
			b.mu.Unlock()
			b.putWaiter(w)
			return b.admitted(start)
		}
		b.dequeueLocked(w)
		b.mu.Unlock()
		b.putWaiter(w)
		return b.reject()

	case <-done:
		b.stopTimer(w)
		b.mu.Lock()
		ok := true
		if w.Granted() { // the caller is gone: pass the permit on
			<-w.Ready()
			ok = b.releaseLocked()
		} else {
			b.dequeueLocked(w)
		}
		b.mu.Unlock()
		b.putWaiter(w)
		if !ok {
			panic(errUnbalanced)
		}
		return ctx.Err()
	}
}

func (b *Bulkhead) stopTimer(w *waiter) {
	if w.Value.timer != nil {
		w.Value.timer.Stop() // since Go 1.23 no stale tick can be received after Stop
	}
}

func (b *Bulkhead) admitted(start time.Time) error {
	b.acquired.Add(1)
	if b.obs != nil {
		b.obs.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "bulkhead", Name: b.name, Delay: clock.Since(b.clk, start)})
	}
	return nil
}

// dequeueLocked takes w, not granted, off the queue. b.mu is held.
func (b *Bulkhead) dequeueLocked(w *waiter) {
	b.queue.Remove(w)
	b.waiting.Store(int64(b.queue.Len()))
	if b.queue.Len() == 0 {
		for {
			s := b.state.Load()
			if b.state.CompareAndSwap(s, s&^queuedBit) {
				return
			}
		}
	}
}

// grantLocked hands a permit to the first waiter. The caller has already
// counted the permit in the state word. b.mu is held.
func (b *Bulkhead) grantLocked() {
	w := b.queue.PopFront()
	b.waiting.Store(int64(b.queue.Len()))
	w.Grant()
}

const errUnbalanced = "bulkhead: Release called more often than Acquire"

// Release gives back a permit taken by Acquire or TryAcquire. If callers
// wait, the permit goes straight to the first of them. Release panics when
// no permit is held.
func (b *Bulkhead) Release() {
	for {
		s := b.state.Load()
		if s&queuedBit != 0 {
			b.mu.Lock()
			ok := b.releaseLocked()
			b.mu.Unlock()
			if !ok {
				panic(errUnbalanced)
			}
			return
		}
		if s&countMask == 0 {
			panic(errUnbalanced)
		}
		if b.state.CompareAndSwap(s, s-1) {
			return
		}
	}
}

// releaseLocked gives back one permit, handing it to the first waiter when
// the capacity leaves room for it. It reports false when no permit was
// held. b.mu is held.
func (b *Bulkhead) releaseLocked() bool {
	for {
		s := b.state.Load()
		if s&countMask == 0 {
			return false
		}
		if s&queuedBit != 0 && b.queue.Len() > 0 && inUseOf(s) <= capOf(s) {
			// The permit passes to the waiter: in use stays the same.
			ns := s
			if b.queue.Len() == 1 {
				ns &^= queuedBit
			}
			if ns != s && !b.state.CompareAndSwap(s, ns) {
				continue
			}
			b.grantLocked()
			return true
		}
		if b.state.CompareAndSwap(s, s-1) {
			return true
		}
	}
}

// SetCapacity changes the number of permits while the bulkhead runs.
// Permits in use stay valid and are counted once: after a shrink below the
// number in use, holders finish normally and nobody is admitted until fewer
// than n are in use; after a growth, waiters are admitted at once, first in
// first out, up to the new capacity. It returns an error, and changes
// nothing, unless 1 <= n <= MaxCapacity.
func (b *Bulkhead) SetCapacity(n int) error {
	if err := checkCapacity("capacity", n); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		s := b.state.Load()
		if b.state.CompareAndSwap(s, withCap(s, int64(n))) {
			break
		}
	}
	for b.queue.Len() > 0 {
		s := b.state.Load()
		if inUseOf(s) >= capOf(s) {
			break
		}
		ns := s + 1
		if b.queue.Len() == 1 {
			ns &^= queuedBit
		}
		if !b.state.CompareAndSwap(s, ns) {
			continue
		}
		b.grantLocked()
	}
	if b.fullErr.Load().Capacity != n {
		b.fullErr.Store(&FullError{Name: b.name, Capacity: n})
	}
	return nil
}

// InUse returns the number of permits held now: above the capacity for a
// while after a shrink. It is one atomic load, cheap enough for a leak
// check after every test or a gauge read on every scrape.
func (b *Bulkhead) InUse() int { return int(inUseOf(b.state.Load())) }

// Available returns the number of permits free now: the capacity less the
// permits held, and 0 while a shrink leaves more held than the capacity.
// A free permit may be taken by another caller a moment later; to take
// one, use TryAcquire.
func (b *Bulkhead) Available() int {
	s := b.state.Load()
	return int(max(capOf(s)-inUseOf(s), 0))
}

// Snapshot holds a [Bulkhead]'s live figures.
type Snapshot struct {
	Capacity int    // the number of permits
	InUse    int    // permits held now; above Capacity for a while after a shrink
	Waiting  int    // callers queued for a permit now
	Acquired uint64 // permits granted since the bulkhead was made
	Rejected uint64 // calls turned away (FullError or TryAcquire false) since the bulkhead was made
}

// Snapshot returns the bulkhead's current figures. Capacity and InUse are
// read together; the other figures may be a moment apart.
func (b *Bulkhead) Snapshot() Snapshot {
	s := b.state.Load()
	return Snapshot{
		Capacity: int(capOf(s)),
		InUse:    int(inUseOf(s)),
		Waiting:  int(b.waiting.Load()),
		Acquired: b.acquired.Load(),
		Rejected: b.rejected.Load(),
	}
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (b *Bulkhead) Synchronous() bool { return true }
