package breaker

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bulwark-go/bulwark"
)

// WindowKind selects how a [Breaker] remembers recent calls while it is
// closed.
type WindowKind uint8

const (
	// WindowCount keeps the outcomes of the last WindowSize calls (default
	// 100). It is the default.
	WindowCount WindowKind = iota
	// WindowTime keeps the outcomes of the calls made in the last WindowSize
	// seconds (default 60), in one-second buckets.
	WindowTime
	// WindowConsecutive counts failures in a row: the breaker opens after
	// WindowSize consecutive failures (default 5) and any success starts the
	// count again. FailureRateThreshold, SlowCallRateThreshold and
	// MinimumCalls do not open it; the first two still judge the half-open
	// probes.
	WindowConsecutive
)

// String returns "count", "time" or "consecutive".
func (k WindowKind) String() string {
	switch k {
	case WindowCount:
		return "count"
	case WindowTime:
		return "time"
	case WindowConsecutive:
		return "consecutive"
	}
	return fmt.Sprintf("WindowKind(%d)", uint8(k))
}

// Limits on Config.WindowSize, so that a typo cannot allocate gigabytes.
const (
	MaxCountWindow = 1_000_000 // calls, for WindowCount
	MaxTimeWindow  = 86_400    // seconds (one day), for WindowTime
)

// Config configures a [Breaker]. The zero value is valid: a count window of
// the last 100 calls that opens at a 50% failure rate once 10 calls were
// seen, stays open 30 seconds, then lets 3 probe calls decide.
//
// [New] rejects a negative value, a rate outside (0, 1] and any other value
// it cannot honour with an error naming the field; it never adjusts a value
// that was set.
type Config struct {
	// Name identifies the breaker in errors, events and snapshots.
	// Default: "".
	Name string

	// Window selects the sliding window. Default: WindowCount.
	Window WindowKind
	// WindowSize is the size of the window: a number of calls for
	// WindowCount (default 100, at most MaxCountWindow), a number of seconds
	// for WindowTime (default 60, at most MaxTimeWindow), a number of
	// failures in a row for WindowConsecutive (default 5).
	WindowSize int
	// MinimumCalls is how many calls the window must hold before the
	// failure and slow-call rates may open the breaker. Default: 10, or
	// WindowSize when a count window is smaller than that. It may not
	// exceed WindowSize for a count window, and may not be set for
	// WindowConsecutive (which does not use it).
	MinimumCalls int

	// FailureRateThreshold opens the breaker when the share of failed calls
	// in the window is at least this, in (0, 1]. Half-open probes are judged
	// by it too. Default: 0.5.
	FailureRateThreshold float64
	// SlowCallRateThreshold opens the breaker when the share of slow calls
	// in the window is at least this, in (0, 1]. It has no effect unless
	// SlowCallDuration is set. Default: 1 (every call in the window slow).
	SlowCallRateThreshold float64
	// SlowCallDuration marks a call that takes longer than this as slow,
	// whether it succeeded or failed. Default: 0, which turns slow-call
	// detection off; then the breaker reads no clock on the success path and
	// events carry no Duration.
	SlowCallDuration time.Duration

	// WaitDuration is how long the breaker stays open before it lets probe
	// calls through. Default: 30 seconds.
	WaitDuration time.Duration
	// WaitMultiplier multiplies the wait each time the probes fail and the
	// breaker opens again without having closed: WaitDuration,
	// WaitDuration×m, WaitDuration×m², ... up to MaxWaitDuration. Closing resets
	// the wait to WaitDuration. At least 1. Default: 1 (the wait never
	// grows).
	WaitMultiplier float64
	// MaxWaitDuration caps the grown wait; at least WaitDuration.
	// Default: 10 × WaitDuration. (It is not a caller's queueing time,
	// which other packages call MaxWait.)
	MaxWaitDuration time.Duration
	// WaitJitter shortens each wait by a random fraction of it, up to this
	// fraction, in [0, 1), so that a fleet of breakers that opened together
	// does not probe together. Default: 0 (no jitter).
	WaitJitter float64
	// Rand is the source of randomness for WaitJitter. Nil means the
	// runtime's generator (math/rand/v2's top-level functions). The breaker
	// draws from it only when it opens with WaitJitter set, under its own
	// lock, so one breaker needs no locked Source; a Source shared with
	// other policies must be safe for concurrent use. Set it to get
	// repeatable waits in tests and simulations, e.g. rand.NewPCG(1, 2).
	// Reconfigure keeps the source given to New. Default: nil.
	Rand rand.Source

	// HalfOpenCalls is how many probe calls the half-open breaker lets
	// through. It closes when their failure rate is under
	// FailureRateThreshold and their slow-call rate under
	// SlowCallRateThreshold, and opens again as soon as either can no longer
	// be. Calls beyond the probes are rejected. Default: 3.
	HalfOpenCalls int
	// MaxHalfOpen bounds the half-open state: if the probes have not decided
	// by then (a probe hangs, or its permit was never finished), the breaker
	// opens again. Default: 1 minute.
	MaxHalfOpen time.Duration

	// IsFailure classifies an error returned by the protected call: true
	// counts it as a failure, false as a success. Default: nil, every error
	// is a failure.
	IsFailure func(err error) bool
	// IsIgnored marks an error the breaker does not count at all (a
	// validation error, a not-found): it neither fails nor succeeds. It is
	// consulted before IsFailure. Default: nil, no error is ignored. The
	// caller's own cancellation (see bulwark.CallerDone) is always ignored.
	IsIgnored func(err error) bool
	// CountRejected counts as a failure an error that matches
	// [bulwark.ErrRejected]: a policy inside the breaker (a bulkhead, a rate
	// limiter, another breaker) refused the call and the dependency was not
	// called. Default: false, such an error is ignored, like IsIgnored.
	CountRejected bool
	// IsFailureResult classifies a result returned with a nil error: true
	// counts the call as a failure (an HTTP 503 response, say). Default:
	// nil, a nil error is a success.
	IsFailureResult func(result any) bool

	// MetricsOnly starts the breaker in metrics-only mode: it records every
	// call and runs its state machine, reporting the transitions it would
	// make to Observer, but never rejects a call. Default: false.
	MetricsOnly bool

	// OnStateChange, if set, is called after every change of State. It runs
	// outside the breaker's locks, after the change, in the order of the
	// changes, never concurrently with itself or another listener of the
	// same breaker, and may call the breaker's methods. It runs on the
	// goroutine that caused the change (or on one that did so meanwhile), so
	// it should return quickly. The transitions a metrics-only breaker would
	// make are not state changes: only Observer hears of them. Default: nil.
	OnStateChange func(Change)

	// Clock, if set, is the clock the breaker reads and runs its timers on
	// (the open wait, the half-open bound, the time window, slow calls):
	// a clocktest.Clock makes its waits end when the test moves the clock.
	// Reconfigure keeps the clock given to New. Default: nil, the real
	// clock (the fake one inside a testing/synctest bubble).
	Clock bulwark.Clock

	// Observer receives an event for every finished call (KindCall), every
	// rejection (KindRejected) and every state change (KindStateChange).
	// Default: nil, no reporting.
	Observer bulwark.Observer
}

// Defaults applied by New to zero fields.
const (
	DefaultCountWindow           = 100
	DefaultTimeWindow            = 60 // seconds
	DefaultConsecutiveWindow     = 5
	DefaultMinimumCalls          = 10
	DefaultFailureRateThreshold  = 0.5
	DefaultSlowCallRateThreshold = 1.0
	DefaultWaitDuration          = 30 * time.Second
	DefaultHalfOpenCalls         = 3
	DefaultMaxHalfOpen           = time.Minute
)

// settings is a validated Config with its defaults filled in.
type settings struct {
	name          string
	window        WindowKind
	size          int
	minCalls      int
	failRate      float64
	slowRate      float64
	slowDur       time.Duration
	wait          time.Duration
	mult          float64
	maxWait       time.Duration
	jitter        float64
	halfOpen      int
	maxHalfOpen   time.Duration
	isFailure     func(error) bool
	isIgnored     func(error) bool
	countRejected bool
	failureResult func(any) bool
	metricsOnly   bool
	onChange      func(Change)
	obs           bulwark.Observer
}

func fieldError(field string, format string, args ...any) error {
	return fmt.Errorf("breaker: Config.%s %s", field, fmt.Sprintf(format, args...))
}

func (c *Config) settings() (*settings, error) {
	s := &settings{
		name:          c.Name,
		window:        c.Window,
		size:          c.WindowSize,
		minCalls:      c.MinimumCalls,
		failRate:      c.FailureRateThreshold,
		slowRate:      c.SlowCallRateThreshold,
		slowDur:       c.SlowCallDuration,
		wait:          c.WaitDuration,
		mult:          c.WaitMultiplier,
		maxWait:       c.MaxWaitDuration,
		jitter:        c.WaitJitter,
		halfOpen:      c.HalfOpenCalls,
		maxHalfOpen:   c.MaxHalfOpen,
		isFailure:     c.IsFailure,
		isIgnored:     c.IsIgnored,
		countRejected: c.CountRejected,
		failureResult: c.IsFailureResult,
		metricsOnly:   c.MetricsOnly,
		onChange:      c.OnStateChange,
		obs:           c.Observer,
	}

	switch s.window {
	case WindowCount, WindowTime, WindowConsecutive:
	default:
		return nil, fieldError("Window", "is %d, not one of WindowCount, WindowTime, WindowConsecutive", uint8(s.window))
	}
	if s.size < 0 {
		return nil, fieldError("WindowSize", "is %d, must not be negative", s.size)
	}
	switch s.window {
	case WindowCount:
		if s.size == 0 {
			s.size = DefaultCountWindow
		}
		if s.size > MaxCountWindow {
			return nil, fieldError("WindowSize", "is %d calls, at most %d allowed", s.size, MaxCountWindow)
		}
	case WindowTime:
		if s.size == 0 {
			s.size = DefaultTimeWindow
		}
		if s.size > MaxTimeWindow {
			return nil, fieldError("WindowSize", "is %d seconds, at most %d allowed", s.size, MaxTimeWindow)
		}
	case WindowConsecutive:
		if s.size == 0 {
			s.size = DefaultConsecutiveWindow
		}
	}

	switch {
	case s.minCalls < 0:
		return nil, fieldError("MinimumCalls", "is %d, must not be negative", s.minCalls)
	case s.window == WindowConsecutive && s.minCalls != 0:
		return nil, fieldError("MinimumCalls", "is %d, but WindowConsecutive does not use it", s.minCalls)
	case s.window == WindowCount && s.minCalls > s.size:
		return nil, fieldError("MinimumCalls", "is %d, more than the WindowSize of %d calls: the breaker could never open", s.minCalls, s.size)
	case s.minCalls == 0 && s.window != WindowConsecutive:
		s.minCalls = DefaultMinimumCalls
		if s.window == WindowCount && s.size < s.minCalls {
			s.minCalls = s.size
		}
	}

	var err error
	if s.failRate, err = rate("FailureRateThreshold", s.failRate, DefaultFailureRateThreshold); err != nil {
		return nil, err
	}
	if s.slowRate, err = rate("SlowCallRateThreshold", s.slowRate, DefaultSlowCallRateThreshold); err != nil {
		return nil, err
	}
	if s.slowDur < 0 {
		return nil, fieldError("SlowCallDuration", "is %v, must not be negative", s.slowDur)
	}

	switch {
	case s.wait < 0:
		return nil, fieldError("WaitDuration", "is %v, must not be negative", s.wait)
	case s.wait == 0:
		s.wait = DefaultWaitDuration
	}
	switch {
	case s.mult != s.mult: // NaN
		return nil, fieldError("WaitMultiplier", "is NaN")
	case s.mult == 0:
		s.mult = 1
	case s.mult < 1:
		return nil, fieldError("WaitMultiplier", "is %v, must be at least 1", s.mult)
	}
	switch {
	case s.maxWait < 0:
		return nil, fieldError("MaxWaitDuration", "is %v, must not be negative", s.maxWait)
	case s.maxWait == 0:
		s.maxWait = 10 * s.wait
	case s.maxWait < s.wait:
		return nil, fieldError("MaxWaitDuration", "is %v, less than WaitDuration (%v)", s.maxWait, s.wait)
	}
	if !(s.jitter >= 0 && s.jitter < 1) {
		return nil, fieldError("WaitJitter", "is %v, must be in [0, 1)", s.jitter)
	}

	switch {
	case s.halfOpen < 0:
		return nil, fieldError("HalfOpenCalls", "is %d, must not be negative", s.halfOpen)
	case s.halfOpen == 0:
		s.halfOpen = DefaultHalfOpenCalls
	}
	switch {
	case s.maxHalfOpen < 0:
		return nil, fieldError("MaxHalfOpen", "is %v, must not be negative", s.maxHalfOpen)
	case s.maxHalfOpen == 0:
		s.maxHalfOpen = DefaultMaxHalfOpen
	}
	return s, nil
}

func rate(field string, v, def float64) (float64, error) {
	switch {
	case v == 0:
		return def, nil
	case v > 0 && v <= 1:
		return v, nil
	}
	return 0, fieldError(field, "is %v, must be in (0, 1]", v)
}
