package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// Defaults used when a Config field is zero.
const (
	// DefaultMaxAttempts is the number of attempts, the first included, when
	// Config.MaxAttempts is zero.
	DefaultMaxAttempts = 3
	// Unlimited, as Config.MaxAttempts, sets no limit on the number of
	// attempts: MaxElapsed, the context's deadline or a budget must end
	// the retries.
	Unlimited = -1
	// DefaultMaxRetryAfter caps a delay demanded by the dependency.
	DefaultMaxRetryAfter = 30 * time.Second
)

// DefaultBackoff returns the backoff used when Config.Backoff is nil:
// 100 ms, then 200 ms, 400 ms, ..., at most 10 s.
func DefaultBackoff() Backoff {
	return Exponential{Initial: 100 * time.Millisecond, Multiplier: 2, Max: 10 * time.Second}
}

// Config configures a [Retry]. The zero value is valid: three attempts in
// all, waiting 100 ms and 200 ms between them, retrying every error except
// permanent ones and the caller's cancellation.
type Config struct {
	// Name identifies the policy in events and snapshots.
	Name string

	// MaxAttempts is the number of attempts in all, the first included, so
	// 1 means no retry. Zero means DefaultMaxAttempts (3), whatever the
	// other fields say; [Unlimited] (-1) means no limit on attempts, for a
	// policy that MaxElapsed or the context's deadline ends. Other negative
	// values are invalid.
	MaxAttempts int
	// MaxElapsed stops retrying once the next attempt would start this long
	// after the call began. Zero means no limit; it must not be negative.
	// MaxAttempts and MaxElapsed both apply: whichever is reached first
	// stops the retries.
	MaxElapsed time.Duration

	// Backoff gives the wait before each retry. Nil means [DefaultBackoff].
	Backoff Backoff
	// Jitter randomises the waits. The zero value is JitterNone.
	Jitter Jitter
	// Rand is the source of randomness for jitter. Nil means the runtime's
	// generator (math/rand/v2's top-level functions). A Source is not safe
	// for concurrent use, so the policy draws from it under a lock (only
	// when it computes a jittered wait); set it to get repeatable waits in
	// tests, e.g. rand.NewPCG(1, 2).
	Rand rand.Source

	// AttemptTimeout, when positive, gives each attempt its own deadline
	// (context.WithTimeout of the caller's context). An attempt that ran out
	// of that time while the caller's context is still live is retried, even
	// though its error is context.DeadlineExceeded and whatever IsRetryable
	// says; only a Permanent error stops it. Zero means no per-attempt
	// deadline; it must not be negative.
	AttemptTimeout time.Duration

	// IsRetryable reports whether an attempt's error is worth retrying. Nil
	// means every error is. Whatever it says, a [Permanent] error and the
	// caller's own cancellation ([bulwark.CallerDone]) are never retried,
	// nor a local rejection unless RetryRejected is set.
	IsRetryable func(err error) bool
	// RetryRejected retries an error that matches [bulwark.ErrRejected]: a
	// policy inside the retry (a breaker, a bulkhead, a rate limiter)
	// refused the attempt locally and the dependency was not called.
	// Default: false, such an error is returned at once, since retrying it
	// would mostly wait out the RetryAfter of a breaker or limiter that has
	// already decided. When true, IsRetryable is still asked.
	RetryRejected bool
	// IsRetryableResult, if set, is asked about every successful result; when it
	// returns true the call is retried as if it had failed.
	IsRetryableResult func(result any) bool

	// MaxRetryAfter caps a delay demanded by the dependency: when an
	// attempt's error implements [bulwark.RetryAfter] (found with errors.As)
	// and asks for a positive delay, the policy waits that long, at most
	// MaxRetryAfter, instead of the backoff's delay (no jitter applied).
	// Zero means DefaultMaxRetryAfter (30 s); it must not be negative.
	MaxRetryAfter time.Duration

	// Budget, if set, limits retries to a share of recent calls; share one
	// Budget among the retry policies of a dependency. Nil means no budget.
	Budget *Budget

	// OnRetry, if set, is called on the calling goroutine before each
	// retry's wait, after the policy decided to retry.
	OnRetry func(ctx context.Context, e Event)

	// Clock, if set, is the clock the policy reads and waits on (backoff
	// waits, MaxElapsed, AttemptTimeout): a clocktest.Clock makes the waits
	// end when the test moves the clock. Default: nil, the real clock (the
	// fake one inside a testing/synctest bubble).
	Clock bulwark.Clock

	// Observer receives KindRetry before each retry's wait, KindExhausted
	// when the policy gives up and KindBudgetExhausted when the budget
	// refuses a retry. The policy reports no KindCall: attempts are the
	// inner policies' business. Nil means no reporting.
	Observer bulwark.Observer
}

// Event describes a retry about to happen, for Config.OnRetry.
type Event struct {
	Attempt int           // the attempt about to be made; the first retry is attempt 2
	Delay   time.Duration // how long the policy waits before it
	Err     error         // the previous attempt's error; nil if IsRetryableResult rejected its result
}

// Retry is a [bulwark.Policy] that runs an operation again when it fails.
// It is safe for concurrent use.
type Retry struct {
	name           string
	maxAttempts    int // 0: unlimited
	maxElapsed     time.Duration
	backoff        Backoff
	ceiling        time.Duration // the backoff's cap, for decorrelated jitter; 0: none
	jitter         Jitter
	attemptTimeout time.Duration
	retryable      func(error) bool
	retryRejected  bool
	retryOnResult  func(any) bool
	maxRetryAfter  time.Duration
	budget         *Budget
	onRetry        func(context.Context, Event)
	observer       bulwark.Observer
	clk            bulwark.Clock

	randMu sync.Mutex
	rand   *rand.Rand // nil: math/rand/v2's global generator

	calls     atomic.Uint64
	retries   atomic.Uint64
	exhausted atomic.Uint64
	refused   atomic.Uint64
}

// New returns a Retry, or an error naming the first invalid field.
func New(c Config) (*Retry, error) {
	switch {
	case c.MaxAttempts < Unlimited:
		return nil, fmt.Errorf("retry: Config.MaxAttempts must not be negative, except Unlimited (-1) (got %d)", c.MaxAttempts)
	case c.MaxElapsed < 0:
		return nil, fmt.Errorf("retry: Config.MaxElapsed must not be negative (got %v)", c.MaxElapsed)
	case c.AttemptTimeout < 0:
		return nil, fmt.Errorf("retry: Config.AttemptTimeout must not be negative (got %v)", c.AttemptTimeout)
	case c.MaxRetryAfter < 0:
		return nil, fmt.Errorf("retry: Config.MaxRetryAfter must not be negative (got %v)", c.MaxRetryAfter)
	case c.Jitter > JitterDecorrelated:
		return nil, fmt.Errorf("retry: Config.Jitter has an unknown value %d", uint8(c.Jitter))
	}
	if v, ok := c.Backoff.(validator); ok {
		if err := v.validate(); err != nil {
			return nil, fmt.Errorf("retry: Config.Backoff: %w", err)
		}
	}
	r := &Retry{
		name:           c.Name,
		maxAttempts:    c.MaxAttempts,
		maxElapsed:     c.MaxElapsed,
		backoff:        c.Backoff,
		jitter:         c.Jitter,
		attemptTimeout: c.AttemptTimeout,
		retryable:      c.IsRetryable,
		retryRejected:  c.RetryRejected,
		retryOnResult:  c.IsRetryableResult,
		maxRetryAfter:  c.MaxRetryAfter,
		budget:         c.Budget,
		onRetry:        c.OnRetry,
		observer:       c.Observer,
		clk:            c.Clock,
	}
	switch r.maxAttempts {
	case 0:
		r.maxAttempts = DefaultMaxAttempts
	case Unlimited:
		r.maxAttempts = 0
	}
	if r.backoff == nil {
		r.backoff = DefaultBackoff()
	}
	if c, ok := r.backoff.(ceilinged); ok {
		r.ceiling = c.ceiling()
	}
	if r.maxRetryAfter == 0 {
		r.maxRetryAfter = DefaultMaxRetryAfter
	}
	if c.Rand != nil {
		r.rand = rand.New(c.Rand)
	}
	return r, nil
}

// Name returns Config.Name.
func (r *Retry) Name() string { return r.name }

// Execute runs op, and runs it again while it fails with a retryable error,
// waiting between attempts as the backoff says.
//
// What it returns:
//   - the result of the first attempt that succeeds (and that IsRetryableResult,
//     if set, accepts);
//   - the attempt's error unchanged, with no retry, when the error is not
//     retryable (IsRetryable said no, it is the caller's cancellation, or it
//     is a local rejection and RetryRejected is false), or
//     when MaxAttempts is 1; for an error made by [Permanent], the error it
//     wraps;
//   - ctx.Err() when ctx ends during a wait between attempts; the attempt's
//     result as it is when ctx ended during the attempt;
//   - otherwise, when it gives up, the last attempt's result with an
//     [*ExhaustedError] (matching [ErrExhausted]) that unwraps to the last
//     attempt's error.
//
// A wait never runs past ctx's deadline or MaxElapsed: when the next wait
// would end at or after either, Execute gives up at once.
func (r *Retry) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	r.calls.Add(1)
	if r.budget != nil {
		r.budget.Deposit()
	}
	var start time.Time // read only when MaxElapsed needs it: a first-attempt success reads no clock
	if r.maxElapsed > 0 {
		start = clock.Now(r.clk)
	}
	v, err, timedOut := r.attempt(ctx, op, 1)
	if err == nil && (r.retryOnResult == nil || !r.retryOnResult(v)) {
		return v, nil
	}
	return r.again(ctx, op, start, v, err, timedOut)
}

// attempt runs op once, as attempt n ([bulwark.Attempt]), under
// AttemptTimeout if set. timedOut reports that the attempt failed after its
// own deadline passed while ctx is live.
func (r *Retry) attempt(ctx context.Context, op bulwark.Operation, n int) (v any, err error, timedOut bool) {
	if r.attemptTimeout <= 0 {
		v, err = op.Call(bulwark.WithAttempt(ctx, n))
		return v, err, false
	}
	actx, cancel := clock.WithTimeout(bulwark.WithAttempt(ctx, n), r.clk, r.attemptTimeout, errAttemptTimeout)
	v, err = op.Call(actx)
	timedOut = err != nil && context.Cause(actx) == errAttemptTimeout && ctx.Err() == nil
	cancel()
	return v, err, timedOut
}

// errAttemptTimeout is the cause of an attempt context that ran out of time.
var errAttemptTimeout = errors.New("retry: attempt timed out")

// again is the slow path: the first attempt failed.
func (r *Retry) again(ctx context.Context, op bulwark.Operation, start time.Time, v any, err error, timedOut bool) (any, error) {
	failed := clock.Now(r.clk) // ExhaustedError.Elapsed counts from here
	var prev time.Duration     // the previous wait, for decorrelated jitter
	for attempts := 1; ; attempts++ {
		if err != nil {
			if p, ok := err.(*permanentError); ok {
				return v, p.err
			}
			if IsPermanent(err) || bulwark.CallerDone(ctx, err) {
				return v, err
			}
			if !r.retryRejected && errors.Is(err, bulwark.ErrRejected) {
				return v, err
			}
			if !timedOut && r.retryable != nil && !r.retryable(err) {
				return v, err
			}
		} else if r.retryOnResult == nil || !r.retryOnResult(v) {
			return v, nil
		}
		if ctx.Err() != nil || r.maxAttempts == 1 {
			return v, err
		}
		if r.maxAttempts > 0 && attempts >= r.maxAttempts {
			return v, r.giveUp(attempts, failed, clock.Now(r.clk), ReasonMaxAttempts, err)
		}
		delay := r.delay(attempts, err, &prev)
		now := clock.Now(r.clk)
		if r.maxElapsed > 0 && now.Sub(start)+delay >= r.maxElapsed {
			return v, r.giveUp(attempts, failed, now, ReasonMaxElapsed, err)
		}
		if dl, ok := ctx.Deadline(); ok && !now.Add(delay).Before(dl) {
			return v, r.giveUp(attempts, failed, now, ReasonDeadline, err)
		}
		if r.budget != nil && !r.budget.Withdraw() {
			r.refused.Add(1)
			if r.observer != nil {
				r.observer.Observe(bulwark.Event{Kind: bulwark.KindBudgetExhausted, Policy: "retry", Name: r.name,
					Attempt: attempts, Err: err})
			}
			return v, r.giveUp(attempts, failed, now, ReasonBudget, err)
		}
		r.retries.Add(1)
		if r.onRetry != nil {
			r.onRetry(ctx, Event{Attempt: attempts + 1, Delay: delay, Err: err})
		}
		if r.observer != nil {
			r.observer.Observe(bulwark.Event{Kind: bulwark.KindRetry, Policy: "retry", Name: r.name,
				Attempt: attempts + 1, Delay: delay, Err: err})
		}
		if werr := clock.Sleep(ctx, r.clk, delay); werr != nil {
			return nil, werr
		}
		v, err, timedOut = r.attempt(ctx, op, attempts+1)
	}
}

func (r *Retry) giveUp(attempts int, start, now time.Time, reason Reason, last error) error {
	r.exhausted.Add(1)
	if r.observer != nil {
		r.observer.Observe(bulwark.Event{Kind: bulwark.KindExhausted, Policy: "retry", Name: r.name,
			Attempt: attempts, Err: last})
	}
	return &ExhaustedError{Attempts: attempts, Elapsed: now.Sub(start), Reason: reason, Last: last}
}

// delay returns the wait before retry n (made after attempt n failed).
func (r *Retry) delay(n int, err error, prev *time.Duration) time.Duration {
	if err != nil {
		var ra bulwark.RetryAfter
		if errors.As(err, &ra) {
			if d := ra.RetryAfter(); d > 0 {
				return min(d, r.maxRetryAfter)
			}
		}
	}
	d := max(0, r.backoff.Delay(n))
	switch r.jitter {
	case JitterFull:
		d = r.between(0, d)
	case JitterEqual:
		d = r.between(d/2, d)
	case JitterDecorrelated:
		base := max(0, r.backoff.Delay(1))
		p := *prev
		if p < base {
			p = base
		}
		hi := time.Duration(math.MaxInt64)
		if p <= math.MaxInt64/3 {
			hi = 3 * p
		}
		d = r.between(base, hi)
		if r.ceiling > 0 && d > r.ceiling {
			d = r.ceiling
		}
		*prev = d
	}
	return d
}

// between returns a uniformly random duration in [lo, hi].
func (r *Retry) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	n := uint64(hi - lo)
	var x uint64
	if r.rand == nil {
		x = rand.Uint64N(n + 1) // n < MaxInt64, so n+1 does not overflow
	} else {
		r.randMu.Lock()
		x = r.rand.Uint64N(n + 1)
		r.randMu.Unlock()
	}
	return lo + time.Duration(x)
}

// Snapshot holds a [Retry]'s live figures, counted since it was made.
type Snapshot struct {
	Calls          uint64 // calls to Execute
	Attempts       uint64 // attempts made: Calls + Retries
	Retries        uint64 // retries made (attempts after the first)
	Exhausted      uint64 // calls that gave up with an *ExhaustedError, budget refusals included
	BudgetRefusals uint64 // retries the budget refused
}

// Snapshot returns the policy's figures.
func (r *Retry) Snapshot() Snapshot {
	calls, retries := r.calls.Load(), r.retries.Load()
	return Snapshot{
		Calls:          calls,
		Attempts:       calls + retries,
		Retries:        retries,
		Exhausted:      r.exhausted.Load(),
		BudgetRefusals: r.refused.Load(),
	}
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (r *Retry) Synchronous() bool { return true }
