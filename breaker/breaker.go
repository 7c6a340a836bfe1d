package breaker

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// A Breaker is a circuit breaker: it stops calling a dependency that keeps
// failing and lets it recover. Make one with [New]; the zero value is not
// usable. It is safe for concurrent use. Its methods block only on short
// critical sections of their own, and on the state-change listeners they
// may end up running (see Config.OnStateChange).
type Breaker struct {
	// Read by every call, written only on a state change or when the
	// window's cleanliness changes.
	quiet atomic.Pointer[OpenError] // cur.quiet: rejecting with no observer
	cur   atomic.Pointer[record]
	clean atomic.Bool // recording a fast success would change nothing
	_     [64]byte    // keep them off the cache line that mu is on

	mu          sync.Mutex
	win         *window
	consec      int    // failures in a row among the recorded calls
	level       int    // times the breaker reopened from half-open since it last closed
	epoch       uint64 // the epoch of the latest record
	timer       bulwark.Timer
	clk         bulwark.Clock // nil: the real clock
	rand        *rand.Rand    // WaitJitter's draws, under mu; nil: math/rand/v2's global generator
	origin      time.Time     // clock origin: durations are measured from it
	queue       []note        // state changes to report, in order
	qhead       int           // next note to deliver
	dispatching bool          // a goroutine is delivering the queue
	listeners   []listener
	nextID      uint64

	ignored atomic.Uint64
}

type listener struct {
	id uint64
	fn func(Change)
}

// note is a state change waiting to be reported.
type note struct {
	change   Change
	shadow   bool // an unenforced metrics-only transition: observer only
	obs      bulwark.Observer
	onChange func(Change)
}

// New returns a closed breaker configured by c, or an error naming the first
// field of c that is invalid.
func New(c Config) (*Breaker, error) {
	s, err := c.settings()
	if err != nil {
		return nil, err
	}
	b := &Breaker{clk: c.Clock, origin: clock.Now(c.Clock), win: newWindow(s.window, s.size)}
	if c.Rand != nil {
		b.rand = rand.New(c.Rand)
	}
	m := modeAuto
	if s.metricsOnly {
		m = modeMetricsOnly
	}
	r := newRecord(s, m, StateClosed, time.Time{}, 0, nil)
	r.since = b.origin
	b.epoch = 1
	r.epoch = 1
	b.cur.Store(r)
	b.setCleanLocked()
	return b, nil
}

// Name returns Config.Name.
func (b *Breaker) Name() string { return b.cur.Load().cfg.name }

// State returns the current state.
func (b *Breaker) State() State { return b.cur.Load().state }

// Execute runs op if the breaker lets the call through and records its
// outcome; otherwise it returns a [*OpenError] without running op.
//
// The outcome is classified in this order: the caller's own cancellation
// (bulwark.CallerDone) is ignored; so is a local rejection by a policy
// inside the breaker ([bulwark.ErrRejected]) unless Config.CountRejected is
// set; an error is ignored if Config.IsIgnored
// says so, else a failure unless Config.IsFailure says it is not; a nil
// error is a success unless Config.IsFailureResult says the result is a
// failure. A panic in op counts as a failure and is re-raised with its
// value.
func (b *Breaker) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	// Allow, by hand.
	if e := b.quiet.Load(); e != nil {
		return nil, e
	}
	r := b.cur.Load()
	p := Permit{b: b, r: r, kind: admitWindow}
	if !r.plain {
		var err error
		if p, err = b.admit(r); err != nil {
			return nil, err
		}
		if p.b == nil { // disabled
			return op.Call(ctx)
		}
	}
	finished := false
	defer func() {
		if !finished {
			p.panicked(recover())
		}
	}()
	v, err := op.Call(ctx)
	finished = true
	if err == nil && b.clean.Load() {
		if p.r.silent {
			return v, nil // a success that changes nothing and is reported to no one
		}
		if p.r.okFast && p.kind == admitWindow {
			p.r.obs.Observe(p.r.ok) // a success that changes nothing: only report it
			return v, nil
		}
	}
	p.Finish(ctx, v, err)
	return v, err
}

// Allow asks to make a call. If the breaker lets it through, Allow returns
// a [Permit] whose outcome the caller must report exactly once (Done,
// Finish, Success, Failure or Ignore); otherwise it returns the zero Permit
// and a [*OpenError]. A disabled breaker returns the zero Permit and nil.
//
// Allow is the two-step form of Execute, for middleware that cannot wrap
// the call in a function. Neither Allow nor the Permit allocate.
func (b *Breaker) Allow() (Permit, error) { return allow(b, (*Breaker).admitCurrent) }

// allow is Allow with its slow path passed in: the compiler charges little
// for calling a parameter, which keeps Allow within its inlining budget, and
// once allow is inlined the parameter is a known function again.
func allow(b *Breaker, slow func(*Breaker) (Permit, error)) (Permit, error) {
	// Rejecting with no observer: the hot path while open. In the last
	// stretch of the open wait quiet is nil, and the slow path reads the
	// clock (see armOpenLocked).
	if e := b.quiet.Load(); e != nil {
		return Permit{}, e
	}
	return slow(b)
}

// admitCurrent is Allow for every state but a quiet rejection.
func (b *Breaker) admitCurrent() (Permit, error) {
	r := b.cur.Load()
	if r.plain { // closed, not timed
		return Permit{b: b, r: r, kind: admitWindow}, nil
	}
	return b.admit(r)
}

// admit is Allow for the states that need more than a load: rejecting
// with an observer, half-open, disabled, timed calls.
func (b *Breaker) admit(r *record) (Permit, error) {
	if r.reject != nil && r.near.Load() && b.clock() >= r.reject.end {
		r = b.wake(r) // the open wait is over: half-open now, not when the timer runs
	}
	if r.reject != nil {
		if r.obs != nil {
			b.reportReject(r, r.reject)
		}
		return Permit{}, r.reject
	}
	if r.admit == admitOff {
		return Permit{}, nil
	}
	p := Permit{b: b, r: r, kind: r.admit}
	if r.probes != nil {
		limit := int64(r.cfg.halfOpen)
		for {
			used := r.probes.permits.Load()
			if used >= limit {
				if r.mode == modeMetricsOnly {
					p.kind = admitRun // a call a half-open breaker would reject
					break
				}
				if r.obs != nil {
					b.reportReject(r, r.busy)
				}
				return Permit{}, r.busy
			}
			if r.probes.permits.CompareAndSwap(used, used+1) {
				break
			}
		}
	}
	if r.measure {
		p.start = b.clock()
	}
	return p, nil
}

func (b *Breaker) reportReject(r *record, e *OpenError) {
	r.obs.Observe(bulwark.Event{
		Kind: bulwark.KindRejected, Policy: "breaker", Name: r.cfg.name,
		Err: e, Delay: e.RetryAfter(),
	})
}

// clock returns the time since the breaker was created, on the monotonic
// clock (or Config.Clock).
func (b *Breaker) clock() time.Duration {
	if b.clk == nil {
		return time.Since(b.origin)
	}
	return b.clk.Now().Sub(b.origin)
}

// now returns the current time on the breaker's clock.
func (b *Breaker) now() time.Time { return clock.Now(b.clk) }

// classify classifies a non-nil error that is not the caller's own
// cancellation.
func classify(s *settings, err error) bulwark.Outcome {
	if !s.countRejected && errors.Is(err, bulwark.ErrRejected) {
		return bulwark.OutcomeIgnored // refused by a policy inside this one: the dependency was not called
	}
	if s.isIgnored != nil && s.isIgnored(err) {
		return bulwark.OutcomeIgnored
	}
	if s.isFailure != nil && !s.isFailure(err) {
		return bulwark.OutcomeSuccess
	}
	return bulwark.OutcomeFailure
}

// finish records the outcome of the call p admitted and reports it.
func (b *Breaker) finish(p Permit, o bulwark.Outcome, err error) {
	r := p.r
	var now, d time.Duration
	slow := false
	if r.measure {
		now = b.clock()
		d = now - p.start
		slow = d > r.cfg.slowDur
	}
	queued := false
	switch {
	case o == bulwark.OutcomeSuccess && !slow && p.kind == admitWindow && b.clean.Load():
		// The window holds only fast successes: this one changes nothing.
	case o == bulwark.OutcomeIgnored:
		b.ignored.Add(1)
		if p.kind == admitProbe {
			r.probes.permits.Add(-1) // let another probe decide in its place
		}
	case p.kind == admitWindow || p.kind == admitProbe:
		queued = b.record(p, o == bulwark.OutcomeFailure, slow, now)
	}
	if r.obs != nil {
		if o == bulwark.OutcomeSuccess && !slow && d == 0 && err == nil {
			r.obs.Observe(r.ok)
		} else {
			reportCall(r, o, slow, d, err)
		}
	}
	if queued {
		b.drain()
	}
}

func reportCall(r *record, o bulwark.Outcome, slow bool, d time.Duration, err error) {
	r.obs.Observe(bulwark.Event{
		Kind: bulwark.KindCall, Policy: "breaker", Name: r.cfg.name,
		Outcome: o, Slow: slow, Duration: d, Err: err,
	})
}

// record adds a counted outcome to the window or the probes, makes the
// transition it calls for, and reports whether state changes wait to be
// delivered.
func (b *Breaker) record(p Permit, fail, slow bool, now time.Duration) bool {
	timed := p.r.measure
	if p.kind == admitWindow && p.r.cfg.window == WindowTime && !timed {
		now, timed = b.clock(), true // outside the lock: the window copes with a late arrival
	}
	b.mu.Lock()
	r := b.cur.Load()
	if r.epoch != p.r.epoch {
		b.mu.Unlock() // admitted before a state change: stale
		return false
	}
	cfg := r.cfg
	switch p.kind {
	case admitWindow:
		if b.win.kind == WindowTime && !timed { // reconfigured to a time window meanwhile
			now = b.clock()
		}
		if fail {
			b.consec++
		} else {
			b.consec = 0
		}
		b.win.add(now, fail, slow)
		b.setCleanLocked()
		if r.automatic() && r.machine == StateClosed {
			if cause := b.tripLocked(cfg); cause != 0 {
				b.openLocked(r, cause, false)
			}
		}
	case admitProbe:
		pr := r.probes
		pr.done++
		if fail {
			pr.fails++
		}
		if slow {
			pr.slow++
		}
		n := float64(cfg.halfOpen)
		switch {
		case float64(pr.fails)/n >= cfg.failRate:
			b.openLocked(r, CauseProbesFailed, true)
		case cfg.slowDur > 0 && float64(pr.slow)/n >= cfg.slowRate:
			b.openLocked(r, CauseProbesFailed, true)
		case pr.done >= cfg.halfOpen:
			b.closeLocked(r, b.now(), CauseProbesPassed)
		}
	}
	queued := b.qhead < len(b.queue)
	b.mu.Unlock()
	return queued
}

// setCleanLocked publishes whether a fast success would change the window.
func (b *Breaker) setCleanLocked() {
	c := b.win.clean()
	if b.win.kind == WindowConsecutive {
		c = b.consec == 0
	}
	if b.clean.Load() != c {
		b.clean.Store(c)
	}
}

// tripLocked returns why the closed breaker must open, or 0.
func (b *Breaker) tripLocked(s *settings) Cause {
	if s.window == WindowConsecutive {
		if b.consec >= s.size {
			return CauseConsecutiveFailures
		}
		return 0
	}
	w := b.win
	if w.calls == 0 || w.calls < s.minCalls {
		return 0
	}
	calls := float64(w.calls)
	if float64(w.fails)/calls >= s.failRate {
		return CauseFailureRate
	}
	if s.slowDur > 0 && float64(w.slow)/calls >= s.slowRate {
		return CauseSlowCallRate
	}
	return 0
}

// waitFor returns the open wait after level reopenings, before jitter.
func waitFor(s *settings, level int) time.Duration {
	if level == 0 || s.mult == 1 {
		return s.wait
	}
	w := float64(s.wait) * math.Pow(s.mult, float64(level))
	if w >= float64(s.maxWait) {
		return s.maxWait
	}
	return time.Duration(w)
}

// openLocked opens the automatic state machine; grow says the probes failed,
// so the wait grows.
func (b *Breaker) openLocked(r *record, cause Cause, grow bool) {
	if grow {
		b.level++
	}
	w := waitFor(r.cfg, b.level)
	if j := r.cfg.jitter; j > 0 {
		w -= time.Duration(b.jitterFraction() * j * float64(w))
	}
	now := b.now()
	b.moveLocked(r, newRecord(r.cfg, r.mode, StateOpen, now.Add(w), w, nil), now, cause)
}

// jitterFraction draws WaitJitter's random fraction in [0, 1), from Config.Rand
// when set. The caller holds mu, which serialises the draws.
func (b *Breaker) jitterFraction() float64 {
	if b.rand == nil {
		return rand.Float64()
	}
	return b.rand.Float64()
}

func (b *Breaker) halfOpenLocked(r *record, now time.Time, cause Cause) {
	// until is when the probe period ends (MaxHalfOpen): the RetryAfter of
	// a call turned away because every probe permit is taken.
	b.moveLocked(r, newRecord(r.cfg, r.mode, StateHalfOpen, now.Add(r.cfg.maxHalfOpen), 0, nil), now, cause)
}

// closeLocked closes the automatic state machine with an empty window.
func (b *Breaker) closeLocked(r *record, now time.Time, cause Cause) {
	b.resetWindowLocked()
	b.moveLocked(r, newRecord(r.cfg, r.mode, StateClosed, time.Time{}, 0, nil), now, cause)
}

func (b *Breaker) resetWindowLocked() {
	b.win.reset()
	b.consec = 0
	b.level = 0
	b.setCleanLocked()
}

// newRecord builds the record of a state, deriving what Allow needs.
func newRecord(cfg *settings, m mode, machine State, until time.Time, wait time.Duration, pr *probes) *record {
	r := buildRecord(cfg, m, machine, until, wait, pr)
	if r.reject != nil && r.obs == nil {
		r.quiet = r.reject
	}
	r.plain = r.reject == nil && r.admit == admitWindow && r.probes == nil && !r.measure
	r.silent = r.plain && r.obs == nil && cfg.failureResult == nil
	r.okFast = r.plain && r.obs != nil && cfg.failureResult == nil
	r.ok = bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: cfg.name, Outcome: bulwark.OutcomeSuccess}
	return r
}

func buildRecord(cfg *settings, m mode, machine State, until time.Time, wait time.Duration, pr *probes) *record {
	r := &record{cfg: cfg, mode: m, machine: machine, obs: cfg.obs, measure: cfg.slowDur > 0, admit: admitWindow}
	switch m {
	case modeAuto:
		r.state = machine
	case modeMetricsOnly:
		r.state = StateMetricsOnly
	case modeForcedOpen:
		r.state = StateForcedOpen
		r.reject = &OpenError{Name: cfg.name, State: StateForcedOpen}
		return r
	case modeForcedClosed:
		r.state = StateForcedClosed
		return r
	case modeDisabled:
		r.state = StateDisabled
		r.admit = admitOff
		r.measure = false
		return r
	}
	switch machine {
	case StateOpen:
		r.until, r.wait = until, wait
		if m == modeAuto {
			r.reject = &OpenError{Name: cfg.name, State: StateOpen, Until: until}
		} else {
			r.admit = admitRun
		}
	case StateHalfOpen:
		if pr == nil {
			pr = &probes{}
		}
		r.probes = pr
		r.admit = admitProbe
		r.until = until
		r.busy = &OpenError{Name: cfg.name, State: StateHalfOpen, Until: until}
	}
	return r
}

// moveLocked makes next the current state in a new epoch, re-arms the timer
// and queues the report of the change.
func (b *Breaker) moveLocked(prev, next *record, now time.Time, cause Cause) {
	b.epoch++
	next.epoch = b.epoch
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if next.automatic() {
		switch next.machine {
		case StateOpen:
			b.armOpenLocked(next, next.until.Sub(now))
		case StateHalfOpen:
			b.armLocked(next.cfg.maxHalfOpen, next.epoch)
		}
	}
	b.swapLocked(prev, next, now, cause)
}

// swapLocked publishes next (whose epoch is set) and queues the report of
// the change from prev.
func (b *Breaker) swapLocked(prev, next *record, now time.Time, cause Cause) {
	next.since = prev.since
	if next.state != prev.state {
		next.since = now
	}
	if e := next.reject; e != nil && next.machine == StateOpen && next.automatic() && !next.until.IsZero() {
		e.end = max(next.until.Sub(b.origin), 1) // not yet published: still ours to write
	}
	if next.reject != nil {
		next.reject.clk = b.clk
	}
	if next.busy != nil {
		next.busy.clk = b.clk
	}
	quiet := next.quiet
	if next.epoch == prev.epoch && prev.near.Load() { // the same open wait, reconfigured
		next.near.Store(true)
		quiet = nil
	}
	b.cur.Store(next)
	b.quiet.Store(quiet)

	cfg := next.cfg
	n := note{obs: cfg.obs, onChange: cfg.onChange}
	switch {
	case next.state != prev.state:
		if cfg.obs == nil && cfg.onChange == nil && len(b.listeners) == 0 {
			return
		}
		n.change = Change{Name: cfg.name, From: prev.state, To: next.state, At: now, Cause: cause}
		if next.state == StateOpen {
			n.change.Until = next.until
		}
	case next.mode == modeMetricsOnly && prev.mode == modeMetricsOnly && next.machine != prev.machine:
		if cfg.obs == nil {
			return
		}
		n.shadow = true
		n.change = Change{Name: cfg.name, From: prev.machine, To: next.machine, At: now, Cause: cause}
		if next.machine == StateOpen {
			n.change.Until = next.until
		}
	default:
		return
	}
	b.queue = append(b.queue, n)
}

// clockCheck is how long before the end of an open wait rejections start
// to read the clock (at most: half the wait when that is shorter).
const clockCheck = time.Second

// armOpenLocked arms the timers of the open record r, whose wait ends in d.
//
// A caller that comes back when the wait ends must be let through as a
// probe, even if the timer that moves the breaker to half-open has not run
// yet: a timer runs a little after its time, and a caller's sleep of the
// same length may well end first. So rejections read the clock, but only
// in the last stretch of the wait (the last second, or the last half of a
// wait under two seconds): before it, a rejection is a single atomic load;
// in it, a load and a clock read (see Breaker.admit). A first timer starts
// that stretch, a second one ends the wait if no call did it first.
func (b *Breaker) armOpenLocked(r *record, d time.Duration) {
	check := min(clockCheck, d/2)
	epoch := r.epoch
	b.timer = clock.AfterFunc(b.clk, d-check, func() {
		b.mu.Lock()
		if cur := b.cur.Load(); cur.epoch == epoch && cur.automatic() { // the same wait, perhaps reconfigured
			cur.near.Store(true)
			b.quiet.Store(nil)
			b.armLocked(check, epoch)
		}
		b.mu.Unlock()
	})
}

func (b *Breaker) armLocked(d time.Duration, epoch uint64) {
	b.timer = clock.AfterFunc(b.clk, d, func() { b.expire(epoch) })
}

// wake ends the open wait of r, whose end has passed, without waiting for
// the timer, and returns the current record.
func (b *Breaker) wake(r *record) *record {
	b.mu.Lock()
	if cur := b.cur.Load(); cur.epoch == r.epoch && cur.automatic() && cur.machine == StateOpen {
		b.halfOpenLocked(cur, b.now(), CauseWaitElapsed)
	}
	b.unlockAndDrain()
	return b.cur.Load()
}

// expire ends the open wait or the half-open period of epoch.
func (b *Breaker) expire(epoch uint64) {
	b.mu.Lock()
	r := b.cur.Load()
	if r.epoch != epoch || !r.automatic() {
		b.mu.Unlock()
		return
	}
	switch r.machine {
	case StateOpen:
		b.halfOpenLocked(r, b.now(), CauseWaitElapsed)
	case StateHalfOpen:
		b.openLocked(r, CauseHalfOpenTimeout, true)
	}
	b.unlockAndDrain()
}

// unlockAndDrain releases mu and delivers the state changes queued under it.
func (b *Breaker) unlockAndDrain() {
	queued := b.qhead < len(b.queue)
	b.mu.Unlock()
	if queued {
		b.drain()
	}
}

// drain delivers queued state changes unless another goroutine is already
// doing so, in which case that goroutine delivers them. Listeners thus run
// outside mu, in order and one at a time, and may call back into the
// breaker: a change they cause is queued and delivered after them.
func (b *Breaker) drain() {
	b.mu.Lock()
	if b.dispatching {
		b.mu.Unlock()
		return
	}
	b.dispatching = true
	for b.qhead < len(b.queue) {
		n := b.queue[b.qhead]
		b.queue[b.qhead] = note{}
		b.qhead++
		ls := b.listeners
		b.mu.Unlock()
		b.deliver(n, ls)
		b.mu.Lock()
	}
	b.queue = b.queue[:0]
	b.qhead = 0
	b.dispatching = false
	b.mu.Unlock()
}

func (b *Breaker) deliver(n note, ls []listener) {
	delivered := false
	defer func() {
		if !delivered { // a listener panicked: let the next change deliver the rest
			b.mu.Lock()
			b.dispatching = false
			b.mu.Unlock()
		}
	}()
	if n.obs != nil {
		e := bulwark.Event{
			Kind: bulwark.KindStateChange, Policy: "breaker", Name: n.change.Name,
			From: n.change.From.String(), To: n.change.To.String(),
		}
		if n.shadow {
			e.Err = ErrMetricsOnly
		}
		n.obs.Observe(e)
	}
	if !n.shadow {
		if n.onChange != nil {
			n.onChange(n.change)
		}
		for _, l := range ls {
			l.fn(n.change)
		}
	}
	delivered = true
}

// AddListener registers fn to be called after every change of State, after
// Config.OnStateChange and the listeners added before it, under the same
// rules: outside the breaker's locks, in order, one at a time, free to call
// the breaker's methods. Call remove to unregister it. AddListener panics if
// fn is nil.
func (b *Breaker) AddListener(fn func(Change)) (remove func()) {
	if fn == nil {
		panic("breaker: AddListener: nil listener")
	}
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.listeners = append(b.listeners[:len(b.listeners):len(b.listeners)], listener{id: id, fn: fn})
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, l := range b.listeners {
			if l.id == id {
				ls := make([]listener, 0, len(b.listeners)-1)
				b.listeners = append(append(ls, b.listeners[:i]...), b.listeners[i+1:]...)
				return
			}
		}
	}
}

// setMode switches to a manual mode.
func (b *Breaker) setMode(m mode) {
	b.mu.Lock()
	r := b.cur.Load()
	if r.mode != m {
		b.moveLocked(r, newRecord(r.cfg, m, StateClosed, time.Time{}, 0, nil), b.now(), CauseManual)
	}
	b.unlockAndDrain()
}

// ForceOpen rejects every call, with an [*OpenError] whose State is
// StateForcedOpen, until the state is changed by hand (Reset, ForceClosed,
// Disable, MetricsOnly). OpenUntil and CloseNow do not apply meanwhile.
func (b *Breaker) ForceOpen() { b.setMode(modeForcedOpen) }

// ForceClosed lets every call through until the state is changed by hand.
// Calls are still recorded in the window and reported to the observer, but
// the breaker does not open. OpenUntil and CloseNow do not apply meanwhile.
func (b *Breaker) ForceClosed() { b.setMode(modeForcedClosed) }

// Disable lets every call through and records and reports nothing until the
// state is changed by hand. OpenUntil and CloseNow do not apply meanwhile.
func (b *Breaker) Disable() { b.setMode(modeDisabled) }

// MetricsOnly stops enforcing: the breaker lets every call through but keeps
// recording calls and running its state machine, reporting each transition
// it would make to the observer as a KindStateChange event whose Err is
// [ErrMetricsOnly]. Coming from closed, open or half-open, the state machine
// carries on from where it is; coming from a manual state, it starts closed
// with an empty window. Reset, or Reconfigure with Config.MetricsOnly
// switched off, enforce again.
func (b *Breaker) MetricsOnly() {
	b.mu.Lock()
	r := b.cur.Load()
	switch r.mode {
	case modeMetricsOnly:
	case modeAuto:
		next := newRecord(r.cfg, modeMetricsOnly, r.machine, r.until, r.wait, r.probes)
		next.epoch = r.epoch // same state machine, same timer, same calls in flight
		b.swapLocked(r, next, b.now(), CauseManual)
	default:
		b.resetWindowLocked()
		b.moveLocked(r, newRecord(r.cfg, modeMetricsOnly, StateClosed, time.Time{}, 0, nil), b.now(), CauseManual)
	}
	b.unlockAndDrain()
}

// Reset puts the breaker back as New left it: closed (or metrics-only if
// Config.MetricsOnly is set), with an empty window and the wait back at
// WaitDuration. It ends any manual state. Calls in flight are not recorded.
func (b *Breaker) Reset() {
	b.mu.Lock()
	r := b.cur.Load()
	m := modeAuto
	if r.cfg.metricsOnly {
		m = modeMetricsOnly
	}
	b.resetWindowLocked()
	b.moveLocked(r, newRecord(r.cfg, m, StateClosed, time.Time{}, 0, nil), b.now(), CauseManual)
	b.unlockAndDrain()
}

// OpenUntil opens the breaker until t, as if its own wait ended then; after
// t it probes as usual. It is meant for state shared by a fleet of
// instances: a listener publishes the local transitions, and the receiving
// side applies them with OpenUntil and CloseNow (their Change.Cause is
// CauseExternal, so that they are not published again).
//
// OpenUntil does nothing if t is not after the current time, or if the
// breaker is in a manual state (forced open, forced closed, disabled). In
// metrics-only mode it moves the unenforced state machine.
func (b *Breaker) OpenUntil(t time.Time) {
	b.mu.Lock()
	r := b.cur.Load()
	now := b.now()
	if r.automatic() && t.After(now) {
		b.moveLocked(r, newRecord(r.cfg, r.mode, StateOpen, t, t.Sub(now), nil), now, CauseExternal)
	}
	b.unlockAndDrain()
}

// CloseNow closes an open or half-open breaker with an empty window and the
// wait back at WaitDuration. Like OpenUntil, it does nothing in a manual
// state, and moves the unenforced state machine in metrics-only mode.
func (b *Breaker) CloseNow() {
	b.mu.Lock()
	r := b.cur.Load()
	if r.automatic() && r.machine != StateClosed {
		b.closeLocked(r, b.now(), CauseExternal)
	}
	b.unlockAndDrain()
}

// Reconfigure replaces the configuration without losing the state: the
// current state, its open wait and its timer are kept, and so is the window
// unless Window or WindowSize changed (then it starts empty). The new
// thresholds apply from the next recorded call, the new waits from the next
// opening. If Config.MetricsOnly changed and the breaker is not in a manual
// state, it switches between metrics-only and enforcing, keeping the state
// machine where it is. On error nothing changes.
func (b *Breaker) Reconfigure(c Config) error {
	s, err := c.settings()
	if err != nil {
		return err
	}
	b.mu.Lock()
	r := b.cur.Load()
	if s.window != r.cfg.window || s.size != r.cfg.size {
		b.win = newWindow(s.window, s.size)
	}
	m := r.mode
	if s.metricsOnly != r.cfg.metricsOnly {
		switch {
		case m == modeAuto && s.metricsOnly:
			m = modeMetricsOnly
		case m == modeMetricsOnly && !s.metricsOnly:
			m = modeAuto
		}
	}
	next := newRecord(s, m, r.machine, r.until, r.wait, r.probes)
	if !r.automatic() {
		next = newRecord(s, m, StateClosed, time.Time{}, 0, nil)
	}
	next.epoch = r.epoch
	b.swapLocked(r, next, b.now(), CauseReconfigure)
	b.setCleanLocked()
	b.unlockAndDrain()
	return nil
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (b *Breaker) Synchronous() bool { return true }
