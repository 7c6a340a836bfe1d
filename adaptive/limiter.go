package adaptive

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// Defaults used when a Config field is zero.
const (
	// DefaultInitialLimit is the limit a Limiter starts with.
	DefaultInitialLimit = 20
	// DefaultMinLimit is the lowest the limit goes.
	DefaultMinLimit = 1
	// DefaultMaxLimit is the highest the limit goes.
	DefaultMaxLimit = 1000
)

// minWindow is the fewest calls in a window; a window otherwise holds as
// many calls as the limit.
const minWindow = 10

// probeMin is the fewest calls a probe measures; it otherwise measures as
// many as its (halved) limit.
const probeMin = 50

// Config configures a [Limiter]. The zero value is valid: a Gradient
// algorithm starting at 20 calls in flight, between 1 and 1000, with no
// queue.
type Config struct {
	// Name identifies the limiter in events and snapshots.
	Name string

	// Algorithm moves the limit: [AIMD], [Gradient] or [Vegas], with their
	// own settings. Nil means Gradient{} (its defaults).
	Algorithm Algorithm

	// InitialLimit is the limit to start with. Zero means
	// DefaultInitialLimit (20), kept within [MinLimit, MaxLimit]. Gradient
	// and Vegas start with a probe, at half this limit, until the first
	// calls have measured the no-load latency.
	InitialLimit int
	// MinLimit is the lowest the limit goes. Zero means DefaultMinLimit
	// (1); it must not be negative.
	MinLimit int
	// MaxLimit is the highest the limit goes. Zero means DefaultMaxLimit
	// (1000); it must not be negative. Critical calls may go past it by
	// their reserve (see [Priority]).
	MaxLimit int

	// QueueSize is how many calls may wait for a place when the limit is
	// reached, instead of being refused at once. Waiting calls are admitted
	// most important first, then first come, first served; when the queue
	// is full, a call takes the place of the newest waiting call of a lower
	// priority, which is refused. Zero means no queue; it must not be
	// negative. Keep it short: a long queue adds latency, which is what the
	// limiter is there to prevent.
	QueueSize int
	// MaxWait is the longest a call waits in the queue before it is
	// refused: the caller's queueing time, as MaxWait is in bulkhead and
	// ratelimit (it was QueueTimeout). Zero means it waits as long as its
	// context allows; the queue itself is opt-in (QueueSize), so there is
	// no "do not wait" value to give zero. It must not be negative.
	MaxWait time.Duration

	// Observer receives KindRejected (Err is the *OverloadedError) for every
	// call shed, KindWait (Delay) when a queued call is admitted, and
	// KindCall (Outcome, Duration, Err) when an admitted call is reported
	// done, and KindLimitChange (From and To, the old and new limit in
	// force in decimal, as Snapshot.Limit reports it) each time the limit
	// moves: when a window of calls closes, and when a probe halves it and
	// gives it back. Nil means no reporting.
	Observer bulwark.Observer

	// Clock, if set, is the clock the limiter times calls (its latency
	// samples) and queue waits on: a clocktest.Clock makes both follow the
	// test's clock. Default: nil, the real clock (the fake one inside a
	// testing/synctest bubble).
	Clock bulwark.Clock
}

// Limiter is a [bulwark.Policy] that limits the calls in flight to a
// dependency, and moves that limit as the dependency's latency shows how
// much it can take. Calls over the limit are shed with an
// [*OverloadedError], or wait in a short queue.
//
// It is safe for concurrent use.
type Limiter struct {
	name       string
	observer   bulwark.Observer
	clk        bulwark.Clock
	est        estimator
	minLimit   int
	maxLimit   int
	queueSize  int
	maxWait    time.Duration
	probeEvery time.Duration
	epoch      time.Time

	mu        sync.Mutex
	limit     float64 // the algorithm's limit
	admit     int     // the limit in force: int(limit), or the probe's
	inFlight  int
	queue     [levels][]*waiter
	queued    int
	win       accumulator
	rtt       time.Duration // the latest window's median latency
	noLoad    time.Duration // the latest no-load latency measured by a probe
	shed      uint64
	admitted  uint64 // also the sequence number of the latest call admitted
	unclaimed uint64 // queued calls admitted after their caller gave up

	// The probe that measures the no-load latency: the limit in force is
	// halved; once the calls in flight have drained to it (draining), the
	// next probeSize calls admitted are the probe's sample, and the probe
	// ends when they have all ended.
	probing    bool
	draining   bool
	probeFirst uint64 // calls with sequence numbers after this one form the sample
	probeSize  int
	probeDone  int
	probe      accumulator
	nextProbe  int64 // when the next probe starts, since epoch
}

// accumulator gathers one window of calls.
type accumulator struct {
	from        uint64  // calls with this sequence number or less are left out
	n           int     // calls counted: measured and dropped
	dropped     int     // calls dropped
	rtts        []int64 // durations of the measured calls; the buffer is reused
	maxInFlight int
}

// New returns a Limiter, or an error naming the first invalid field.
func New(c Config) (*Limiter, error) {
	switch {
	case c.MinLimit < 0:
		return nil, fmt.Errorf("adaptive: Config.MinLimit must not be negative (got %d)", c.MinLimit)
	case c.MaxLimit < 0:
		return nil, fmt.Errorf("adaptive: Config.MaxLimit must not be negative (got %d)", c.MaxLimit)
	case c.InitialLimit < 0:
		return nil, fmt.Errorf("adaptive: Config.InitialLimit must not be negative (got %d)", c.InitialLimit)
	case c.QueueSize < 0:
		return nil, fmt.Errorf("adaptive: Config.QueueSize must not be negative (got %d)", c.QueueSize)
	case c.MaxWait < 0:
		return nil, fmt.Errorf("adaptive: Config.MaxWait must not be negative (got %v)", c.MaxWait)
	}
	if c.MinLimit == 0 {
		c.MinLimit = DefaultMinLimit
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = DefaultMaxLimit
	}
	if c.MinLimit > c.MaxLimit {
		return nil, fmt.Errorf("adaptive: Config.MinLimit (%d) must not exceed MaxLimit (%d)", c.MinLimit, c.MaxLimit)
	}
	if c.InitialLimit == 0 {
		c.InitialLimit = min(max(DefaultInitialLimit, c.MinLimit), c.MaxLimit)
	} else if c.InitialLimit < c.MinLimit || c.InitialLimit > c.MaxLimit {
		return nil, fmt.Errorf("adaptive: Config.InitialLimit (%d) must be within MinLimit (%d) and MaxLimit (%d)",
			c.InitialLimit, c.MinLimit, c.MaxLimit)
	}
	if c.Algorithm == nil {
		c.Algorithm = Gradient{}
	}
	if err := c.Algorithm.validate(); err != nil {
		return nil, fmt.Errorf("adaptive: Config.Algorithm: %w", err)
	}
	l := &Limiter{
		name:      c.Name,
		observer:  c.Observer,
		est:       c.Algorithm.newEstimator(),
		minLimit:  c.MinLimit,
		maxLimit:  c.MaxLimit,
		queueSize: c.QueueSize,
		maxWait:   c.MaxWait,
		epoch:     clock.Now(c.Clock),
		clk:       c.Clock,
		limit:     float64(c.InitialLimit),
		admit:     c.InitialLimit,
	}
	l.probeEvery = l.est.probeInterval()
	if l.probeEvery > 0 {
		l.startProbe()
	}
	return l, nil
}

// Name returns Config.Name.
func (l *Limiter) Name() string { return l.name }

// now returns the time since the limiter was made, on the monotonic clock.
func (l *Limiter) now() int64 { return int64(clock.Since(l.clk, l.epoch)) }

// Execute runs op if the limit allows, with the priority set on ctx by
// [WithPriority] (normal if none), and reports its outcome to the algorithm
// as [Token.Done] does. A call over the limit returns an [*OverloadedError]
// without running op, unless it finds a place in the queue. A panic in op
// releases the call's place and is raised again.
func (l *Limiter) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	t, err := l.AcquirePriority(ctx, PriorityFrom(ctx))
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			t.OnIgnore()
		}
	}()
	v, err := op.Call(ctx)
	done = true
	t.Done(err)
	return v, err
}

// Acquire asks for a place for a call with the priority set on ctx by
// [WithPriority] (normal if none). See [Limiter.AcquirePriority].
func (l *Limiter) Acquire(ctx context.Context) (Token, error) {
	return l.AcquirePriority(ctx, PriorityFrom(ctx))
}

// AcquirePriority asks for a place for a call of priority p. On success the
// caller must report the call's end exactly once, with [Token.Done],
// [Token.OnSuccess], [Token.OnDropped] or [Token.OnIgnore]; the place is
// held until then.
//
// When the limit for p is reached, the call waits in the queue if there is
// room (see Config.QueueSize), and otherwise fails with an
// [*OverloadedError]. While waiting, it fails with ctx's error if ctx ends.
//
// Taking a place and reporting the call's end does not allocate.
func (l *Limiter) AcquirePriority(ctx context.Context, p Priority) (Token, error) {
	lv := p.level()
	now := l.now()
	l.mu.Lock()
	if l.inFlight < allowance(lv, l.admit) && !l.waitingAtOrAbove(lv) {
		l.take()
		seq := l.admitted
		l.mu.Unlock()
		return Token{l: l, start: now, seq: seq}, nil
	}
	if l.queueSize > 0 && (l.queued < l.queueSize || l.hasLower(lv)) {
		return l.wait(ctx, p, now) // unlocks
	}
	err := l.overloaded(p, 0)
	l.mu.Unlock()
	l.reportShed(err)
	return Token{}, err
}

// take admits a call. l.mu is held.
func (l *Limiter) take() {
	l.inFlight++
	l.admitted++
	l.win.maxInFlight = max(l.win.maxInFlight, l.inFlight)
}

// overloaded counts a shed call and returns its error. l.mu is held.
func (l *Limiter) overloaded(p Priority, waited time.Duration) *OverloadedError {
	l.shed++
	return &OverloadedError{Limit: l.admit, InFlight: l.inFlight, Priority: p, Waited: waited, RTT: l.rtt}
}

func (l *Limiter) reportShed(err *OverloadedError) {
	if l.observer != nil {
		l.observer.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "adaptive", Name: l.name, Err: err})
	}
}

// outcome is how a call ended, for the algorithm.
type outcome uint8

const (
	outcomeMeasured outcome = iota // the call's duration is a latency sample
	outcomeDropped                 // the call timed out or was shed downstream: overload
	outcomeIgnored                 // the call says nothing about latency
)

// release ends the call that t admitted. It is Token's work.
func (l *Limiter) release(t Token, o outcome, err error) {
	now := l.now()
	rtt := now - t.start
	l.mu.Lock()
	from := l.admit
	l.releaseLocked(t.seq, rtt, o, now)
	to := l.admit
	l.mu.Unlock()
	if l.observer != nil {
		out := bulwark.OutcomeSuccess
		switch o {
		case outcomeDropped:
			out = bulwark.OutcomeFailure
		case outcomeIgnored:
			out = bulwark.OutcomeIgnored
		}
		l.observer.Observe(bulwark.Event{Kind: bulwark.KindCall, Policy: "adaptive", Name: l.name,
			Outcome: out, Duration: time.Duration(rtt), Err: err})
		l.limitChanged(from, to)
	}
}

// limitChanged reports a change of the limit in force, if there was one,
// as a KindLimitChange event. The observer is not nil; l.mu is not held.
func (l *Limiter) limitChanged(from, to int) {
	if from != to {
		l.observer.Observe(bulwark.Event{Kind: bulwark.KindLimitChange, Policy: "adaptive", Name: l.name,
			From: strconv.Itoa(from), To: strconv.Itoa(to)})
	}
}

// releaseLocked gives a call's place back and counts its outcome. l.mu is
// held.
func (l *Limiter) releaseLocked(seq uint64, rtt int64, o outcome, now int64) {
	l.inFlight--
	switch {
	case l.probing:
		l.probeSample(seq, rtt, o, now)
	case o != outcomeIgnored:
		l.sample(seq, rtt, o == outcomeDropped, now)
	}
	if l.draining && l.inFlight <= l.admit {
		l.draining = false
		l.probeFirst = l.admitted
	}
	l.dispatch(now)
}

// sample adds one call to the window and closes the window when it is
// full. l.mu is held.
func (l *Limiter) sample(seq uint64, rtt int64, dropped bool, now int64) {
	if seq <= l.win.from {
		return
	}
	w := &l.win
	w.add(rtt, dropped)
	if w.n < max(minWindow, l.admit) {
		return
	}
	med := w.median()
	if med > 0 {
		l.rtt = med
	}
	next := l.est.update(l.limit, window{
		rtt:         med,
		noLoad:      l.noLoad,
		maxInFlight: w.maxInFlight,
		measured:    len(w.rtts),
		dropped:     w.dropped,
	})
	l.limit = min(max(next, float64(l.minLimit)), float64(l.maxLimit))
	l.admit = l.clamp(l.limit)
	w.reset(0, l.inFlight)
	if l.probeEvery > 0 && now >= l.nextProbe {
		l.startProbe()
	}
}

func (a *accumulator) add(rtt int64, dropped bool) {
	a.n++
	if dropped {
		a.dropped++
	} else {
		a.rtts = append(a.rtts, rtt)
	}
}

// reset empties the accumulator for a window that counts calls admitted
// after sequence number from, with inFlight calls in flight at its start.
func (a *accumulator) reset(from uint64, inFlight int) {
	*a = accumulator{from: from, maxInFlight: inFlight, rtts: a.rtts[:0]}
}

// median returns the median of the measured durations (the lower one of
// the middle two), or 0 if there are none. It reorders them.
func (a *accumulator) median() time.Duration {
	if len(a.rtts) == 0 {
		return 0
	}
	return time.Duration(selectNth(a.rtts, (len(a.rtts)-1)/2))
}

// selectNth returns the value that would be at index k if xs were sorted,
// partly reordering xs (quickselect).
func selectNth(xs []int64, k int) int64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		// Median of three as the pivot, to keep sorted input linear.
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// probeSample counts a call's end during a probe; the probe ends when every
// call of its sample has ended. l.mu is held.
func (l *Limiter) probeSample(seq uint64, rtt int64, o outcome, now int64) {
	if l.draining || seq <= l.probeFirst || seq > l.probeFirst+uint64(l.probeSize) {
		return
	}
	l.probeDone++
	if o != outcomeIgnored {
		l.probe.add(rtt, o == outcomeDropped)
	}
	if l.probeDone < l.probeSize {
		return
	}
	if rtt := l.probe.median(); rtt > 0 {
		l.noLoad, l.rtt = rtt, rtt
	}
	l.probing = false
	l.admit = l.clamp(l.limit)
	l.nextProbe = now + int64(min(l.probeEvery, time.Duration(1<<62)))
	l.win.reset(l.admitted, l.inFlight)
}

// clamp returns the whole limit in force for a limit.
func (l *Limiter) clamp(limit float64) int {
	return min(max(int(limit), l.minLimit), l.maxLimit)
}

// startProbe halves the limit in force; once the calls in flight have
// drained to it, the next calls admitted measure the no-load latency. l.mu
// is held.
func (l *Limiter) startProbe() {
	l.probing = true
	l.admit = max(l.minLimit, l.clamp(l.limit)/2)
	l.draining = l.inFlight > l.admit
	l.probeFirst = l.admitted
	l.probeSize = max(probeMin, l.admit)
	l.probeDone = 0
	l.probe.reset(0, 0)
}

// Token is a place taken from a [Limiter] for one call. Report the call's
// end exactly once with one of its methods; the zero Token's methods do
// nothing. A Token is a small value: pass it by value.
type Token struct {
	l     *Limiter
	start int64  // since l.epoch
	seq   uint64 // the call's sequence number among admissions
}

// Done reports the call's end, classifying its error: nil and ordinary
// errors make the call's duration a latency sample (OnSuccess);
// context.DeadlineExceeded and [ErrOverloaded] from a dependency's own
// limiter, or errors wrapping them, report overload (OnDropped);
// context.Canceled says nothing about the dependency (OnIgnore).
func (t Token) Done(err error) {
	if t.l == nil {
		return
	}
	t.l.release(t, classify(err), err)
}

func classify(err error) outcome {
	switch {
	case err == nil:
		return outcomeMeasured
	case isCanceled(err):
		return outcomeIgnored
	case isDropped(err):
		return outcomeDropped
	}
	return outcomeMeasured
}

// OnSuccess reports that the call ended normally: its duration is a latency
// sample.
func (t Token) OnSuccess() {
	if t.l != nil {
		t.l.release(t, outcomeMeasured, nil)
	}
}

// OnDropped reports that the call timed out or was refused by an overloaded
// dependency: a sign of overload, which lowers the limit.
func (t Token) OnDropped() {
	if t.l != nil {
		t.l.release(t, outcomeDropped, nil)
	}
}

// OnIgnore reports that the call ended in a way that says nothing about the
// dependency's latency (the caller gave up, the request was invalid): the
// place is released and no sample taken.
func (t Token) OnIgnore() {
	if t.l != nil {
		t.l.release(t, outcomeIgnored, nil)
	}
}

// Snapshot holds a [Limiter]'s live figures.
type Snapshot struct {
	Limit    int           // the limit in force for normal-priority calls
	InFlight int           // calls admitted and not yet reported done
	Queued   int           // calls waiting in the queue
	Shed     uint64        // calls refused (at once, on queue timeout, or pushed out of the queue), since the limiter was made
	Admitted uint64        // calls admitted since the limiter was made
	RTT      time.Duration // the median latency of the latest window of calls
	NoLoad   time.Duration // the latest no-load latency measured by a probe (Gradient and Vegas)
	Probing  bool          // the limit is halved to measure the no-load latency
}

// Snapshot returns the limiter's figures.
func (l *Limiter) Snapshot() Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Snapshot{
		Limit:    l.admit,
		InFlight: l.inFlight,
		Queued:   l.queued,
		Shed:     l.shed,
		Admitted: l.admitted - l.unclaimed,
		RTT:      l.rtt,
		NoLoad:   l.noLoad,
		Probing:  l.probing,
	}
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (l *Limiter) Synchronous() bool { return true }
