package hedge

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// Defaults used when a Config field is zero.
const (
	// DefaultMaxHedges is the number of hedged attempts a call may start
	// beyond the first.
	DefaultMaxHedges = 1
	// DefaultBudget is the share of calls that may start a hedge.
	DefaultBudget = 0.1
	// DefaultWindow is the number of recent attempt durations the
	// percentile is taken from.
	DefaultWindow = 1000
	// DefaultMinSamples is the number of samples needed before the
	// percentile replaces Config.Delay (or Window, if smaller).
	DefaultMinSamples = 100
)

// Config configures a [Hedger]. Delay is required; every other field has a
// default.
type Config struct {
	// Name identifies the policy in events and snapshots.
	Name string

	// Delay is how long an attempt runs before the next one is started
	// beside it. It must be positive. With Percentile set, it is the delay
	// used until MinSamples attempts have succeeded.
	Delay time.Duration

	// Percentile, when set, takes the delay from the durations of recent
	// successful attempts instead: 0.95 hedges the calls slower than 95% of
	// recent ones. It must be in (0, 1]. Zero means a fixed Delay.
	Percentile float64
	// Window is the number of recent durations the percentile is taken
	// from (recomputed every Window/50 samples). Zero means DefaultWindow
	// (1000). Only with Percentile.
	Window int
	// MinSamples is the number of successful attempts needed before the
	// percentile replaces Delay. Zero means DefaultMinSamples (100), or
	// Window if smaller; it must not exceed Window. Only with Percentile.
	MinSamples int
	// MinDelay is a floor for the delay taken from the percentile, so that
	// a run of very fast calls cannot make every call hedge. Zero means no
	// floor. Only with Percentile.
	MinDelay time.Duration

	// MaxHedges is the number of attempts a call may start beyond the
	// first, each Delay after the previous one. Zero means
	// DefaultMaxHedges (1); it must not be negative.
	MaxHedges int

	// Budget is the share of calls that may hedge: every call adds Budget to
	// a balance, every hedge takes 1 from it, and a hedge is refused when
	// less than 1 is left. The balance starts full and holds at most 10
	// hedges (or MaxHedges, if more), so over any stretch of calls,
	// hedges ≤ Budget × calls + 10. This keeps hedging from doubling the
	// load on a dependency that slows down for everyone. Zero means
	// DefaultBudget (0.1); it must be positive and finite, and a value of
	// MaxHedges or more never refuses.
	Budget float64

	// IsSuccess reports whether an attempt's error makes it the winner: its
	// result is returned at once and the other attempts are cancelled. An
	// attempt that is not a success wins only if no other attempt is still
	// running. Nil means err == nil.
	IsSuccess func(err error) bool

	// IsHedgeable reports whether a failed attempt (not IsSuccess) that
	// leaves no other attempt running should be followed at once by another
	// attempt, without waiting for the delay, if MaxHedges and the budget
	// allow. Nil means never: the failure is returned.
	IsHedgeable func(err error) bool

	// Clock, if set, is the clock the hedge delay runs on, and attempts are
	// timed on (for Percentile): a clocktest.Clock starts hedges when the
	// test moves the clock. Default: nil, the real clock (the fake one
	// inside a testing/synctest bubble).
	Clock bulwark.Clock

	// Observer receives KindHedge (Attempt, Delay) when a hedged attempt
	// starts, KindHedgeWon (Attempt) when an attempt other than the first
	// produces the result, and KindBudgetExhausted (Attempt) when the budget
	// refuses a hedge. Nil means no reporting.
	Observer bulwark.Observer
}

// Hedger is a [bulwark.Policy] that starts another attempt of a call when
// the first is slow, and returns whichever succeeds first. It is safe for
// concurrent use.
type Hedger struct {
	name        string
	delay       time.Duration
	tracker     *tracker // nil for a fixed delay
	maxHedges   int
	budget      *budget
	isSuccess   func(error) bool
	shouldHedge func(error) bool
	observer    bulwark.Observer
	clk         bulwark.Clock

	calls   atomic.Uint64
	hedges  atomic.Uint64
	wins    atomic.Uint64
	refused atomic.Uint64
}

// New returns a Hedger, or an error naming the first invalid field.
func New(c Config) (*Hedger, error) {
	fixed := c.Percentile == 0
	switch {
	case c.Delay <= 0:
		return nil, fmt.Errorf("hedge: Config.Delay must be positive (got %v)", c.Delay)
	case !(c.Percentile >= 0 && c.Percentile <= 1):
		return nil, fmt.Errorf("hedge: Config.Percentile must be in (0, 1], or 0 for a fixed delay (got %v)", c.Percentile)
	case c.Window < 0:
		return nil, fmt.Errorf("hedge: Config.Window must not be negative (got %d)", c.Window)
	case c.MinSamples < 0:
		return nil, fmt.Errorf("hedge: Config.MinSamples must not be negative (got %d)", c.MinSamples)
	case c.MinDelay < 0:
		return nil, fmt.Errorf("hedge: Config.MinDelay must not be negative (got %v)", c.MinDelay)
	case fixed && c.Window != 0:
		return nil, fmt.Errorf("hedge: Config.Window is set (%d) but Percentile is 0", c.Window)
	case fixed && c.MinSamples != 0:
		return nil, fmt.Errorf("hedge: Config.MinSamples is set (%d) but Percentile is 0", c.MinSamples)
	case fixed && c.MinDelay != 0:
		return nil, fmt.Errorf("hedge: Config.MinDelay is set (%v) but Percentile is 0", c.MinDelay)
	case c.MaxHedges < 0:
		return nil, fmt.Errorf("hedge: Config.MaxHedges must not be negative (got %d)", c.MaxHedges)
	case c.Budget < 0 || math.IsNaN(c.Budget) || math.IsInf(c.Budget, 0):
		return nil, fmt.Errorf("hedge: Config.Budget must be positive and finite (got %v)", c.Budget)
	}
	h := &Hedger{
		name:        c.Name,
		delay:       c.Delay,
		maxHedges:   c.MaxHedges,
		isSuccess:   c.IsSuccess,
		shouldHedge: c.IsHedgeable,
		observer:    c.Observer,
		clk:         c.Clock,
	}
	if h.maxHedges == 0 {
		h.maxHedges = DefaultMaxHedges
	}
	share := c.Budget
	if share == 0 {
		share = DefaultBudget
	}
	h.budget = newBudget(share, h.maxHedges)
	if c.Percentile > 0 {
		window, minSamples := c.Window, c.MinSamples
		if window == 0 {
			window = DefaultWindow
		}
		if minSamples == 0 {
			minSamples = min(DefaultMinSamples, window)
		}
		if minSamples > window {
			return nil, fmt.Errorf("hedge: Config.MinSamples (%d) must not exceed Window (%d)", minSamples, window)
		}
		h.tracker = newTracker(c.Delay, c.Percentile, window, minSamples, c.MinDelay)
	}
	return h, nil
}

// Name returns Config.Name.
func (h *Hedger) Name() string { return h.name }

// Delay returns the delay the next call will wait before hedging.
func (h *Hedger) Delay() time.Duration {
	if h.tracker != nil {
		return h.tracker.current()
	}
	return h.delay
}

// outcome is what one attempt sends back.
type outcome struct {
	v        any
	err      error
	attempt  int // 1 for the first attempt
	took     time.Duration
	panicked bool
	panicVal any
}

// Execute runs op, and starts another attempt beside it each time the delay
// passes without a result, up to MaxHedges more and as the budget allows.
//
// What it returns:
//   - the result of the first attempt that succeeds (see Config.IsSuccess);
//     the other attempts are cancelled;
//   - when every attempt failed, the result of the one that finished last:
//     a failure never wins while another attempt is still running;
//   - ctx.Err() as soon as ctx ends, without waiting for the attempts.
//
// Each attempt runs on its own goroutine with a context derived from ctx,
// which Execute cancels when it returns: the attempts that lost stop there
// (if they honour their context) and their results are dropped. So the
// winner's result must not depend on its context after Execute returns (read
// an HTTP response body inside the operation). A panic in an attempt is
// raised again on the caller's goroutine, with the same value.
func (h *Hedger) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	h.calls.Add(1)
	h.budget.deposit()
	delay := h.Delay()

	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Buffered for every attempt, so that the losers never block sending.
	results := make(chan outcome, h.maxHedges+1)
	started, running := 1, 1
	go h.attempt(actx, op, 1, results)

	timer := clock.NewTimer(h.clk, delay)
	defer timer.Stop()
	tick := timer.C()

	for {
		select {
		case r := <-results:
			running--
			if r.panicked {
				cancel()
				panic(r.panicVal)
			}
			if h.succeeded(r.err) {
				if h.tracker != nil {
					h.tracker.record(r.took)
				}
				if r.attempt > 1 {
					h.wins.Add(1)
					if h.observer != nil {
						h.observer.Observe(bulwark.Event{Kind: bulwark.KindHedgeWon, Policy: "hedge", Name: h.name, Attempt: r.attempt})
					}
				}
				return r.v, r.err
			}
			if running > 0 {
				continue
			}
			if bulwark.CallerDone(ctx, r.err) || started > h.maxHedges ||
				h.shouldHedge == nil || !h.shouldHedge(r.err) || !h.hedge(started+1, 0) {
				return r.v, r.err
			}
			started++
			running++
			go h.attempt(actx, op, started, results)
			timer.Reset(delay)
			tick = timer.C()
		case <-tick:
			tick = nil
			if started > h.maxHedges || !h.hedge(started+1, delay) {
				continue
			}
			started++
			running++
			go h.attempt(actx, op, started, results)
			if started <= h.maxHedges {
				timer.Reset(delay)
				tick = timer.C()
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (h *Hedger) succeeded(err error) bool {
	if h.isSuccess == nil {
		return err == nil
	}
	return h.isSuccess(err)
}

// hedge asks the budget for attempt n, which would start after waiting
// delay (0 when it replaces a failed attempt), and reports the outcome.
func (h *Hedger) hedge(n int, delay time.Duration) bool {
	if !h.budget.withdraw() {
		h.refused.Add(1)
		if h.observer != nil {
			h.observer.Observe(bulwark.Event{Kind: bulwark.KindBudgetExhausted, Policy: "hedge", Name: h.name, Attempt: n})
		}
		return false
	}
	h.hedges.Add(1)
	if h.observer != nil {
		h.observer.Observe(bulwark.Event{Kind: bulwark.KindHedge, Policy: "hedge", Name: h.name, Attempt: n, Delay: delay})
	}
	return true
}

// attempt runs op once, as attempt n ([bulwark.Attempt]), and sends what
// happened, a panic included, on out.
func (h *Hedger) attempt(ctx context.Context, op bulwark.Operation, n int, out chan<- outcome) {
	ctx = bulwark.WithAttempt(ctx, n)
	start := clock.Now(h.clk)
	r := outcome{attempt: n, panicked: true}
	defer func() {
		if r.panicked {
			r.panicVal = recover()
		}
		out <- r
	}()
	r.v, r.err = op.Call(ctx)
	r.took = clock.Since(h.clk, start)
	r.panicked = false
}

// Snapshot holds a [Hedger]'s live figures, counted since it was made.
type Snapshot struct {
	Calls          uint64        // calls to Execute
	Hedges         uint64        // hedged attempts started (attempts beyond the first)
	HedgeWins      uint64        // calls whose result came from a hedged attempt
	BudgetRefusals uint64        // hedges the budget refused
	Delay          time.Duration // the delay the next call will wait before hedging
	Samples        int           // attempt durations held for the percentile (0 with a fixed delay)
}

// Snapshot returns the policy's figures.
func (h *Hedger) Snapshot() Snapshot {
	s := Snapshot{
		Calls:          h.calls.Load(),
		Hedges:         h.hedges.Load(),
		HedgeWins:      h.wins.Load(),
		BudgetRefusals: h.refused.Load(),
		Delay:          h.Delay(),
	}
	if h.tracker != nil {
		s.Samples = h.tracker.samples()
	}
	return s
}
