package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	bclock "github.com/bulwark-go/bulwark/internal/clock"
)

// Config configures a [Limiter]. Set either Rate, or Limit and Per.
type Config struct {
	// Name identifies the limiter in events, errors and metrics.
	// Default: "".
	Name string

	// Rate is the sustained rate in events per second, at most [MaxRate];
	// math.Inf(1) admits everything. Fractions are fine: 0.5 is one event
	// every two seconds. No default: set Rate, or Limit and Per.
	Rate float64

	// Limit and Per give the rate as Limit events per Per (100 per
	// time.Minute), computed exactly in integers. Set both or neither.
	Limit int
	Per   time.Duration

	// Burst is how many events may be admitted at once after the limiter
	// has been idle; they are then spaced at the rate again. Default 1:
	// smooth, every event evenly spaced 1/Rate apart. Negative values are
	// an error.
	Burst int

	// MaxWait is how long Execute waits for its turn: the caller's
	// queueing time, as MaxWait is in bulkhead and adaptive. Default 0: do not
	// wait; a call that comes too early is refused with a *LimitedError.
	// A positive MaxWait waits up to that long, and never past the
	// context's deadline: a call whose turn would come later is refused at
	// once, without waiting for nothing. Negative values are an error.
	// Wait and WaitN ignore MaxWait and wait as long as the context allows.
	MaxWait time.Duration

	// Observer, if not nil, hears of refusals (KindRejected, with Delay
	// the time until the call would have been admitted) and of calls
	// admitted after a wait (KindWait, Delay the wait). Default nil, which
	// costs one nil check.
	Observer bulwark.Observer

	// Clock, if set, is the clock the methods without a time argument
	// read (Allow, Wait, Reserve, Execute, ...) and Wait's timer runs on:
	// a clocktest.Clock makes them follow the test's clock. The …At
	// methods take the time as an argument and read no clock. Default:
	// nil, the real clock (the fake one inside a testing/synctest bubble).
	Clock bulwark.Clock
}

// Decision is a limiter's answer to a request, with the figures an HTTP
// server puts in RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and
// Retry-After headers. It is returned by value and costs no allocation.
type Decision struct {
	// Allowed reports whether the events were admitted.
	Allowed bool
	// Limit is the burst: the most events admitted at once.
	Limit int
	// Remaining is how many more events would be admitted right now.
	Remaining int
	// RetryAfter is how long to wait before the same request would be
	// admitted: 0 when Allowed, [Never] when it asked for more than the
	// burst.
	RetryAfter time.Duration
	// ResetAfter is how long until the limiter is back to a full burst,
	// if nothing else arrives.
	ResetAfter time.Duration
}

// Limiter admits events at a steady rate with an optional burst, using
// GCRA (the generic cell rate algorithm): its whole state is one
// theoretical arrival time, updated with a single compare-and-swap, so
// deciding takes no lock and allocates nothing, and it admits exactly what
// the algorithm admits, whatever the burst and GOMAXPROCS.
//
// A Limiter implements [bulwark.Policy]; its methods follow
// golang.org/x/time/rate: Allow/AllowN, Reserve/ReserveN, Wait/WaitN, and
// Check/CheckN for a full [Decision]. The methods that take a time use it
// instead of the clock, so tests need no sleeping; times passed to one
// limiter should come from one clock and lie within a few years of each
// other.
//
// A Limiter is safe for concurrent use by multiple goroutines.
type Limiter struct {
	// Every call writes tat and one counter: keep them on one cache line,
	// away from the fields below that are only read.
	tat      atomic.Uint64
	allowed  atomic.Uint64
	rejected atomic.Uint64
	_        [40]byte

	limits atomic.Pointer[limits]
	clock
	name    string
	maxWait time.Duration
	obs     bulwark.Observer

	setMu sync.Mutex // serializes SetLimit
}

// New returns a limiter configured by cfg, or an error naming the field
// that is out of range. The limiter starts with a full burst.
func New(cfg Config) (*Limiter, error) {
	p, err := newLimits(cfg.Rate, cfg.Limit, cfg.Per, cfg.Burst, "Config.")
	if err != nil {
		return nil, err
	}
	if cfg.MaxWait < 0 {
		return nil, fmt.Errorf("ratelimit: Config.MaxWait is %v; it must be 0 (do not wait) or positive", cfg.MaxWait)
	}
	l := &Limiter{clock: clock{base: bclock.Now(cfg.Clock), clk: cfg.Clock}, name: cfg.Name, maxWait: cfg.MaxWait, obs: cfg.Observer}
	l.limits.Store(p)
	return l, nil
}

// Name returns Config.Name.
func (l *Limiter) Name() string { return l.name }

// Allow reports whether one event may happen now, and if so counts it.
func (l *Limiter) Allow() bool {
	ok, _ := l.allow(0, true, 1)
	return ok
}

// AllowAt is Allow at the time now instead of the clock's.
func (l *Limiter) AllowAt(now time.Time) bool {
	ok, _ := l.allow(l.at(now), false, 1)
	return ok
}

// AllowN reports whether n events may happen at time now, and if so counts
// them. It is false when n exceeds the burst. AllowN panics if n is
// negative.
func (l *Limiter) AllowN(now time.Time, n int) bool {
	ok, _ := l.allow(l.at(now), false, n)
	return ok
}

// allow decides n events at now, or, when live, at a reading of the clock
// it takes itself (see clock). When it refuses, over is the wait in ticks,
// math.MaxInt64 when n exceeds the burst.
func (l *Limiter) allow(now uint64, live bool, n int) (ok bool, over int64) {
	if n < 0 {
		panic(fmt.Sprintf("ratelimit: negative event count %d", n))
	}
	p := l.limits.Load()
	if p.unlimited {
		l.allowed.Add(1)
		return true, 0
	}
	if n > p.burst {
		l.refuse(math.MaxInt64)
		return false, math.MaxInt64
	}
	tat := l.tat.Load()
	seen := tat
	if live {
		now = l.now() // after the load; see clock
	}
	for {
		next, over := p.take(tat, now, n)
		if over > 0 && live && tat != seen { // see clock
			seen, now = tat, l.now()
			next, over = p.take(tat, now, n)
		}
		if over > 0 {
			l.refuse(over)
			return false, over
		}
		if l.tat.CompareAndSwap(tat, next) {
			l.allowed.Add(1)
			return true, 0
		}
		tat = l.tat.Load()
	}
}

// read returns the state and a reading of the clock taken after it, for a
// call that decides at its own reading (see clock).
func (l *Limiter) read() (tat, now uint64) {
	tat = l.tat.Load()
	return tat, l.now()
}

// refuse counts and reports a refusal with a wait of over ticks
// (math.MaxInt64: never).
func (l *Limiter) refuse(over int64) {
	l.rejected.Add(1)
	if l.obs != nil {
		l.observeRejected(ErrLimited, delayOf(over))
	}
}

// delayOf converts a wait in ticks to a duration, math.MaxInt64 to Never.
func delayOf(over int64) time.Duration {
	if over == math.MaxInt64 {
		return Never
	}
	return durationOf(over)
}

func (l *Limiter) observeRejected(err error, delay time.Duration) {
	l.obs.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "ratelimit", Name: l.name, Err: err, Delay: delay})
}

// Check is Allow with the full [Decision]: whether the event was admitted
// (and counted), how many more would be, and when to come back.
func (l *Limiter) Check() Decision { return l.check(0, true, 1) }

// CheckN is Check for n events at the time now. A request of more events
// than the burst is refused with RetryAfter [Never]. CheckN panics if n is
// negative.
func (l *Limiter) CheckN(now time.Time, n int) Decision { return l.check(l.at(now), false, n) }

// check is allow with the full Decision.
func (l *Limiter) check(now uint64, live bool, n int) Decision {
	if n < 0 {
		panic(fmt.Sprintf("ratelimit: negative event count %d", n))
	}
	var seen uint64
	if live {
		seen, now = l.read()
	}
	p := l.limits.Load()
	if p.unlimited {
		l.allowed.Add(1)
		return p.decision(true, 0, now, 0)
	}
	if n > p.burst {
		l.refuse(math.MaxInt64)
		d := p.decision(false, l.tat.Load(), now, 0)
		d.RetryAfter = Never
		return d
	}
	for {
		tat := l.tat.Load()
		next, over := p.take(tat, now, n)
		if over > 0 && live && tat != seen { // see clock
			seen, now = tat, l.now()
			next, over = p.take(tat, now, n)
		}
		if over > 0 {
			l.refuse(over)
			return p.decision(false, tat, now, over)
		}
		if l.tat.CompareAndSwap(tat, next) {
			l.allowed.Add(1)
			return p.decision(true, next, now, 0)
		}
	}
}

// Execute runs op if the limiter admits one event now, or, with
// Config.MaxWait set, once its turn comes within MaxWait and the context's
// deadline. Otherwise it returns a *LimitedError (matching [ErrLimited],
// carrying the wait) without running op, or ctx.Err() if the context ended
// the wait.
func (l *Limiter) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	if l.maxWait == 0 {
		if ok, over := l.allow(0, true, 1); !ok {
			return nil, l.limited(delayOf(over))
		}
		return op.Call(ctx)
	}
	if err := l.waitN(ctx, 1, l.maxWait); err != nil {
		return nil, err
	}
	return op.Call(ctx)
}

// limited returns the error for a refusal that check or reserve has
// already counted and observed.
func (l *Limiter) limited(delay time.Duration) error {
	return &LimitedError{Name: l.name, Delay: delay}
}

// SetLimit changes the rate (events per second, math.Inf(1) for no limit)
// and the burst while the limiter runs. The events that could be admitted
// now stay as they are, capped at the new burst, as in
// golang.org/x/time/rate. It returns an error, and changes nothing, for
// values New would refuse (a burst of 0 means 1). Calls concurrent with
// SetLimit see either setting.
func (l *Limiter) SetLimit(rate float64, burst int) error {
	return l.set(0, true, func(*limits) (float64, int) { return rate, burst })
}

// SetLimitAt is SetLimit at the time now instead of the clock's: the events
// that could be admitted at now stay as they are.
func (l *Limiter) SetLimitAt(now time.Time, rate float64, burst int) error {
	return l.set(l.at(now), false, func(*limits) (float64, int) { return rate, burst })
}

// SetRate changes the rate and keeps the burst; see SetLimit.
func (l *Limiter) SetRate(rate float64) error {
	return l.set(0, true, func(p *limits) (float64, int) { return rate, p.burst })
}

// SetRateAt is SetRate at the time now; see SetLimitAt.
func (l *Limiter) SetRateAt(now time.Time, rate float64) error {
	return l.set(l.at(now), false, func(p *limits) (float64, int) { return rate, p.burst })
}

// SetBurst changes the burst and keeps the rate; see SetLimit.
func (l *Limiter) SetBurst(burst int) error {
	return l.set(0, true, func(p *limits) (float64, int) { return p.rate, burst })
}

// SetBurstAt is SetBurst at the time now; see SetLimitAt.
func (l *Limiter) SetBurstAt(now time.Time, burst int) error {
	return l.set(l.at(now), false, func(p *limits) (float64, int) { return p.rate, burst })
}

// set changes the setting at now, or, when live, at a reading of the clock
// taken after loading the state (see clock).
func (l *Limiter) set(now uint64, live bool, change func(*limits) (float64, int)) error {
	l.setMu.Lock()
	defer l.setMu.Unlock()
	p := l.limits.Load()
	rate, burst := change(p)
	q, err := newLimits(rate, 0, 0, burst, "")
	if err != nil {
		return err
	}
	q.keepInterval(p)
	for {
		tat := l.tat.Load()
		if live {
			now = l.now() // after tat; see clock
		}
		if l.tat.CompareAndSwap(tat, p.rescale(q, tat, now)) {
			break
		}
	}
	l.limits.Store(q)
	return nil
}

// Tokens returns how many events could be admitted now: negative while
// reservations wait, +Inf when unlimited.
func (l *Limiter) Tokens() float64 {
	tat := l.tat.Load()
	return l.limits.Load().tokens(tat, l.now())
}

// TokensAt is Tokens at the time now instead of the clock's, for a
// timeline of AllowAt, AllowN and ReserveN calls.
func (l *Limiter) TokensAt(now time.Time) float64 {
	return l.limits.Load().tokens(l.tat.Load(), l.at(now))
}

// Snapshot holds a [Limiter]'s live figures.
type Snapshot struct {
	Allowed  uint64  // calls admitted since the limiter was made
	Rejected uint64  // calls refused since the limiter was made
	Rate     float64 // events per second; +Inf when unlimited
	Burst    int     // the most events admitted at once
	Tokens   float64 // events that could be admitted at the snapshot's time; negative while reservations wait
}

// Snapshot returns the limiter's current figures, with Tokens at the
// clock's time. On a timeline of AllowAt calls, use SnapshotAt.
func (l *Limiter) Snapshot() Snapshot {
	tat := l.tat.Load()
	return l.snapshot(tat, l.now())
}

// SnapshotAt is Snapshot with Tokens at the time now; it does not read the
// clock.
func (l *Limiter) SnapshotAt(now time.Time) Snapshot {
	return l.snapshot(l.tat.Load(), l.at(now))
}

func (l *Limiter) snapshot(tat, now uint64) Snapshot {
	p := l.limits.Load()
	return Snapshot{
		Allowed:  l.allowed.Load(),
		Rejected: l.rejected.Load(),
		Rate:     p.rate,
		Burst:    p.burst,
		Tokens:   p.tokens(tat, now),
	}
}
