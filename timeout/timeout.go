package timeout

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// Config configures a [Timeout].
type Config struct {
	// Name identifies the policy in events and snapshots.
	Name string
	// Duration is how long a call may run. It is required and must be
	// positive.
	Duration time.Duration
	// Detached makes the policy return when the deadline passes even if the
	// operation ignores its context: the operation runs on a goroutine of
	// its own and its late result is dropped. The default (false) runs the
	// operation on the caller's goroutine and waits for it to return, which
	// costs less and is right for every operation that honours ctx.
	Detached bool
	// Clock, if set, is the clock the policy's deadlines run on: a
	// clocktest.Clock ends them when the test moves the clock. The
	// operation's context then reports the deadline on that clock, and
	// ends with context.DeadlineExceeded (a context derived from it, with
	// context.Canceled; the cause is ErrTimeout either way). Default: nil,
	// the real clock (the fake one inside a testing/synctest bubble).
	Clock bulwark.Clock
	// Observer receives KindTimeout (Delay is Duration, Err the error
	// returned) each time the policy's deadline passes. Nil means no
	// reporting.
	Observer bulwark.Observer
}

// Timeout is a [bulwark.Policy] that gives each call a deadline. It is safe
// for concurrent use.
type Timeout struct {
	name     string
	d        time.Duration
	detached bool
	observer bulwark.Observer
	clk      bulwark.Clock

	calls     atomic.Uint64
	timeouts  atomic.Uint64
	abandoned atomic.Uint64
	orphans   atomic.Int64
}

// New returns a Timeout, or an error if Config.Duration is not positive.
func New(c Config) (*Timeout, error) {
	if c.Duration <= 0 {
		return nil, fmt.Errorf("timeout: Config.Duration must be positive (got %v)", c.Duration)
	}
	return &Timeout{name: c.Name, d: c.Duration, detached: c.Detached, observer: c.Observer, clk: c.Clock}, nil
}

// Name returns Config.Name.
func (t *Timeout) Name() string { return t.name }

// Duration returns Config.Duration.
func (t *Timeout) Duration() time.Duration { return t.d }

// Execute runs op with a context that ends Duration from now, or earlier if
// ctx ends earlier. The context's cause (context.Cause) is [ErrTimeout] once
// the policy's deadline passes. When ctx's own deadline comes no later than
// the policy's, op gets ctx itself (no timer, no allocation) and any expiry
// is the caller's.
//
// By default Execute waits for op to return, then:
//   - if op succeeded, returns its result, even if the deadline passed;
//   - if op failed after the policy's deadline passed, returns op's result
//     with an [*ExceededError] that wraps op's error;
//   - otherwise (op failed before the deadline, or the caller cancelled or
//     the caller's own deadline came first) returns op's result unchanged.
//
// In this mode the context costs one small allocation, and a timer only
// once op asks for its Done channel (directly, through a derived context,
// or by finding it ended): until then Err reads the clock. If op never
// looked at ctx, the caller cancelled and the policy's deadline passed too,
// which came first is unknown, and the call counts as the caller's. When
// Execute returns, the context is canceled, as by a cancel function.
//
// In detached mode Execute returns at the policy's deadline, or when ctx
// ends, whichever comes first, without waiting for op: with a nil result and
// an [*ExceededError] (Err nil) for the policy's deadline, with nil and
// ctx.Err() for the caller's. If op returns first, its result is mapped as
// above. A ctx that is already done when Execute is called returns ctx.Err()
// without starting op.
func (t *Timeout) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	t.calls.Add(1)
	if t.detached {
		return t.executeDetached(ctx, op)
	}
	if t.callerFirst(ctx) {
		return op.Call(ctx)
	}
	if t.clk != nil {
		return t.executeOn(ctx, op)
	}
	deadline := time.Now().Add(t.d)
	if dl, ok := ctx.Deadline(); ok && !dl.After(deadline) {
		return op.Call(ctx) // the caller's came first after all
	}
	c := &deadlineCtx{parent: ctx, deadline: deadline}
	v, err, expired := c.call(op)
	if err != nil && expired {
		return v, t.exceeded(err)
	}
	return v, err
}

// callerFirst reports whether ctx's own deadline comes no later than the
// policy's would. The policy's deadline can then never pass first, so the
// operation needs no context of its own (and a tie goes to the caller).
func (t *Timeout) callerFirst(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && clock.Until(t.clk, dl) <= t.d
}

// executeOn is Execute on Config.Clock: a plain context with a deadline on
// that clock.
func (t *Timeout) executeOn(ctx context.Context, op bulwark.Operation) (any, error) {
	tctx, cancel := clock.WithTimeout(ctx, t.clk, t.d, ErrTimeout)
	defer cancel()
	v, err := op.Call(tctx)
	if err != nil && context.Cause(tctx) == ErrTimeout {
		return v, t.exceeded(err)
	}
	return v, err
}

// exceeded counts and reports a pass of the policy's deadline.
func (t *Timeout) exceeded(err error) error {
	t.timeouts.Add(1)
	e := &ExceededError{Duration: t.d, Err: err}
	if t.observer != nil {
		t.observer.Observe(bulwark.Event{Kind: bulwark.KindTimeout, Policy: "timeout", Name: t.name, Delay: t.d, Err: e})
	}
	return e
}

// A detached call's state, shared by the caller and the goroutine running
// the operation. The result itself travels on the channel only.
const (
	running   int32 = iota // neither side has finished
	delivered              // the goroutine has sent (or is sending) the result
	abandoned              // the caller has returned without it
)

type detachedCall struct {
	state  atomic.Int32
	result chan outcome // buffered: the goroutine never blocks on it
}

type outcome struct {
	v        any
	err      error
	panicked bool
	panicVal any
}

// errGoexit is returned when a detached operation calls runtime.Goexit.
var errGoexit = errors.New("timeout: the operation called runtime.Goexit")

func (t *Timeout) executeDetached(ctx context.Context, op bulwark.Operation) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tctx := ctx
	if !t.callerFirst(ctx) {
		var cancel context.CancelFunc
		tctx, cancel = clock.WithTimeout(ctx, t.clk, t.d, ErrTimeout)
		defer cancel()
	}
	c := &detachedCall{result: make(chan outcome, 1)}
	go t.run(tctx, op, c)
	select {
	case o := <-c.result:
		return t.finish(tctx, o)
	case <-tctx.Done():
	}
	// Count the orphan before giving it up, so that the goroutine's
	// decrement can never come first.
	t.orphans.Add(1)
	if !c.state.CompareAndSwap(running, abandoned) {
		// The result is on its way: take it.
		t.orphans.Add(-1)
		return t.finish(tctx, <-c.result)
	}
	t.abandoned.Add(1)
	if context.Cause(tctx) == ErrTimeout {
		return nil, t.exceeded(nil)
	}
	return nil, ctx.Err()
}

// finish maps a detached operation's outcome as the default mode does, and
// re-raises its panic on the caller's goroutine.
func (t *Timeout) finish(tctx context.Context, o outcome) (any, error) {
	if o.panicked {
		panic(o.panicVal)
	}
	if o.err != nil && context.Cause(tctx) == ErrTimeout {
		return o.v, t.exceeded(o.err)
	}
	return o.v, o.err
}

// run calls op and hands its outcome to the caller, or drops it when the
// caller has gone. A panic goes to the caller if it is still waiting;
// otherwise it is left to crash the program, as a panic on any goroutine
// does.
func (t *Timeout) run(ctx context.Context, op bulwark.Operation, c *detachedCall) {
	var o outcome
	returned := false
	defer func() {
		if !returned {
			if c.state.Load() == abandoned {
				t.orphans.Add(-1)
				return // let the panic go on, with its own stack
			}
			if p := recover(); p != nil {
				o = outcome{panicked: true, panicVal: p}
			} else {
				o = outcome{err: errGoexit}
			}
		}
		if c.state.CompareAndSwap(running, delivered) {
			c.result <- o
			return
		}
		t.orphans.Add(-1)
		if o.panicked {
			panic(o.panicVal) // nobody is waiting for it any more
		}
	}()
	o.v, o.err = op.Call(ctx)
	returned = true
}

// Snapshot holds a [Timeout]'s live figures, counted since it was made.
type Snapshot struct {
	Calls     uint64 // calls to Execute
	Timeouts  uint64 // calls that passed the policy's deadline
	Abandoned uint64 // detached calls that returned without waiting for the operation
	Orphans   int64  // of those, operations still running
}

// Snapshot returns the policy's figures.
func (t *Timeout) Snapshot() Snapshot {
	return Snapshot{
		Calls:     t.calls.Load(),
		Timeouts:  t.timeouts.Load(),
		Abandoned: t.abandoned.Load(),
		Orphans:   t.orphans.Load(),
	}
}

// Synchronous reports whether the policy calls its Operation only before
// Execute returns: true unless it runs detached. See [bulwark.Synchronous].
func (t *Timeout) Synchronous() bool { return !t.detached }
