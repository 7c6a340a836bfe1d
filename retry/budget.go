package retry

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// BudgetConfig configures a [Budget]. The zero value is valid and gives the
// defaults below.
type BudgetConfig struct {
	// Ratio is how many retries are allowed per call, over the last TTL:
	// 0.2 lets retries add at most 20% to the load. Zero means 0.2;
	// otherwise it must be positive and finite.
	Ratio float64
	// MinPerSecond is a floor of retries per second that is always allowed,
	// so that a client with little traffic can still retry. It is granted
	// as a reserve of MinPerSecond × TTL retries over the window. Zero means
	// 10; otherwise it must be positive and finite.
	MinPerSecond float64
	// TTL is how long a call or retry counts against the budget. Zero means
	// 10 seconds; otherwise it must be between 1 second and 5 minutes.
	TTL time.Duration
}

// A Budget caps retries at a fraction of recent calls, which is what stops
// a retry storm: when a dependency fails, a plain retry policy multiplies
// the load on it by MaxAttempts; a budget keeps the extra load to
// Ratio (plus a small floor), however many retry policies share it.
//
// Every call through a [Retry] that uses the budget deposits one call; every
// retry withdraws one. A retry is allowed while
//
//	retries + 1 ≤ Ratio × calls + MinPerSecond × TTL
//
// where calls and retries are those of the last TTL. The window moves in
// tenths of TTL, so an event stops counting between 0.9·TTL and TTL after
// it happened.
//
// A Budget is safe for concurrent use and is meant to be shared by the
// retry policies of one dependency. Deposits and withdrawals are atomic
// additions (plus a clock read); a short lock is taken only when the window
// moves on. Under heavy concurrency the check and the withdrawal are not one
// atomic step, so the budget may be overdrawn by a few retries.
type Budget struct {
	ratio   float64
	reserve float64
	ttl     time.Duration
	width   time.Duration
	origin  time.Time

	mu       sync.Mutex // held only while a slot is recycled
	slots    [budgetSlots]budgetSlot
	rejected atomic.Uint64
}

const budgetSlots = 10

type budgetSlot struct {
	epoch   atomic.Int64 // which tenth of the timeline the slot counts; 0 = never used
	calls   atomic.Int64
	retries atomic.Int64
}

// NewBudget returns a Budget, or an error naming the first invalid field.
func NewBudget(c BudgetConfig) (*Budget, error) {
	if c.Ratio == 0 {
		c.Ratio = 0.2
	}
	if c.MinPerSecond == 0 {
		c.MinPerSecond = 10
	}
	if c.TTL == 0 {
		c.TTL = 10 * time.Second
	}
	switch {
	case !(c.Ratio > 0) || math.IsInf(c.Ratio, 0):
		return nil, fmt.Errorf("retry: BudgetConfig.Ratio must be positive and finite (got %v)", c.Ratio)
	case !(c.MinPerSecond > 0) || math.IsInf(c.MinPerSecond, 0):
		return nil, fmt.Errorf("retry: BudgetConfig.MinPerSecond must be positive and finite (got %v)", c.MinPerSecond)
	case c.TTL < time.Second || c.TTL > 5*time.Minute:
		return nil, fmt.Errorf("retry: BudgetConfig.TTL must be between 1s and 5m (got %v)", c.TTL)
	}
	return &Budget{
		ratio:   c.Ratio,
		reserve: c.MinPerSecond * c.TTL.Seconds(),
		ttl:     c.TTL,
		width:   c.TTL / budgetSlots,
		origin:  time.Now(),
	}, nil
}

// epoch returns the index of the current tenth of TTL, counting from 1.
func (b *Budget) epoch() int64 {
	return int64(time.Since(b.origin)/b.width) + 1
}

// slot returns the slot that counts epoch e, recycling it if it still holds
// an older epoch.
func (b *Budget) slot(e int64) *budgetSlot {
	s := &b.slots[e%budgetSlots]
	if s.epoch.Load() == e {
		return s
	}
	b.mu.Lock()
	if s.epoch.Load() < e {
		s.calls.Store(0)
		s.retries.Store(0)
		s.epoch.Store(e)
	}
	b.mu.Unlock()
	// A caller whose clock reading is stale (e is older than the slot's
	// epoch) counts into the newer slot: off by one event at worst.
	return s
}

// sums returns the calls and retries of the window ending with epoch e.
func (b *Budget) sums(e int64) (calls, retries int64) {
	for i := range b.slots {
		s := &b.slots[i]
		if ep := s.epoch.Load(); ep > e-budgetSlots && ep <= e {
			calls += s.calls.Load()
			retries += s.retries.Load()
		}
	}
	return calls, retries
}

// limit is the number of retries the window allows for the given calls.
func (b *Budget) limit(calls int64) int64 {
	return int64(math.Floor(b.ratio*float64(calls) + b.reserve + 1e-9))
}

// Deposit records one call. A [Retry] using the budget calls it once per
// call; call it directly only to count calls made outside a Retry.
func (b *Budget) Deposit() {
	b.slot(b.epoch()).calls.Add(1)
}

// Withdraw asks for one retry. It reports whether the retry is allowed and,
// if so, records it.
func (b *Budget) Withdraw() bool {
	e := b.epoch()
	calls, retries := b.sums(e)
	if retries+1 > b.limit(calls) {
		b.rejected.Add(1)
		return false
	}
	b.slot(e).retries.Add(1)
	return true
}

// BudgetSnapshot holds a [Budget]'s live figures.
type BudgetSnapshot struct {
	Calls     int64  // calls deposited in the current window
	Retries   int64  // retries withdrawn in the current window
	Available int64  // retries the budget would allow now
	Rejected  uint64 // retries refused since the budget was made
}

// Snapshot returns the budget's current figures.
func (b *Budget) Snapshot() BudgetSnapshot {
	calls, retries := b.sums(b.epoch())
	return BudgetSnapshot{
		Calls:     calls,
		Retries:   retries,
		Available: max(0, b.limit(calls)-retries),
		Rejected:  b.rejected.Load(),
	}
}
