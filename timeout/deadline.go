package timeout

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
)

// deadlineCtx is the context a waiting (not detached) policy gives the
// operation. It costs one allocation and no timer until somebody asks for
// its Done channel (or finds it already ended): only then does it arm a
// standard context.WithDeadlineCause, which every later call delegates to.
// Until then Err reads the parent and the clock, and Value asks the
// parent. An operation that never waits on ctx (a fast path, a cache hit)
// thus costs no timer, and one that does gets exactly the standard
// context, cause and children included.
//
// Once armed, the inner context decides everything, so Done is always the
// same channel and Err is non-nil only once Done is closed, and never
// changes after that. Before, any method that finds the context ended arms
// it first, so the first non-nil Err already comes from the inner context.
type deadlineCtx struct {
	parent   context.Context
	deadline time.Time // with a monotonic reading

	state atomic.Int32 // see live
	mu    sync.Mutex   // serialises arming

	// Set under mu before state becomes ready, then never changed.
	inner  context.Context
	cancel context.CancelFunc
}

// What the context has become. Until armed, the state is live while the
// call runs, then the verdict finish reached. Arming makes it arming, then
// ready for good, and the inner context decides from then on.
const (
	live       int32 = iota // neither deadline has passed, nor has the call returned
	timedOut                // the policy's deadline passed first
	parentDone              // the caller's context ended first
	canceled                // the call returned before either
	arming                  // the inner context is being made: wait for it
	ready                   // the inner context is made: ask it
)

// observe reads the parent and the clock. When the policy's deadline and
// the parent's end have both passed unobserved, a parent's deadline is
// known to be the later one (a policy only makes a deadlineCtx under a
// parent whose deadline comes later), but a cancellation's time is
// unknown: it then goes to the caller, as a tie does.
func (c *deadlineCtx) observe() int32 {
	perr := c.parent.Err()
	if (perr == nil || perr == context.DeadlineExceeded) && time.Until(c.deadline) <= 0 {
		return timedOut
	}
	if perr != nil {
		return parentDone
	}
	return live
}

// arm replaces the clock readings with a standard context that agrees with
// what they say (or with finish's verdict), and returns it.
func (c *deadlineCtx) arm() context.Context {
	if c.state.Load() == ready {
		return c.inner
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state.Load()
	if s == ready {
		return c.inner
	}
	if s == live && c.state.CompareAndSwap(live, arming) {
		// From here finish waits for the inner context.
		s = c.observe()
	} else {
		s = c.state.Load() // finish's verdict
	}
	switch s {
	case timedOut:
		// Past the deadline: ended by it, whatever the parent has done
		// since.
		c.inner, c.cancel = context.WithDeadlineCause(context.WithoutCancel(c.parent), c.deadline, ErrTimeout)
	case canceled:
		c.inner, c.cancel = context.WithCancel(context.WithoutCancel(c.parent))
		c.cancel()
	default:
		// Live: the timer runs from here. Or the parent has ended, and
		// the new context ends with it, with its error and cause.
		c.inner, c.cancel = context.WithDeadlineCause(c.parent, c.deadline, ErrTimeout)
	}
	c.state.Store(ready)
	return c.inner
}

// call runs op under c, then ends c (as a cancel function would) and
// reports whether the policy's deadline ended it, which only matters when
// op failed.
func (c *deadlineCtx) call(op bulwark.Operation) (v any, err error, expired bool) {
	defer func() { expired = c.finish(err != nil) }()
	v, err = op.Call(c)
	return v, err, false
}

// finish stops c's timer, if any, and reports whether the policy's deadline
// ended c. From then on, c is canceled unless it had already ended.
//
// When nothing armed c, the verdict is reached without the inner context,
// and without reading the clock unless exact is set: a successful call's
// verdict only shows to code that keeps ctx after the call, and for it an
// overrun nobody observed ends as canceled.
func (c *deadlineCtx) finish(exact bool) bool {
	if c.state.Load() == live {
		s := canceled
		if exact || c.parent.Err() != nil {
			s = c.observe()
		}
		if s == live {
			s = canceled
		}
		if c.state.CompareAndSwap(live, s) {
			return s == timedOut
		}
		// Being armed: wait for it.
	}
	inner := c.arm()
	expired := context.Cause(inner) == ErrTimeout
	c.cancel()
	return expired
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineCtx) Done() <-chan struct{} { return c.arm().Done() }

func (c *deadlineCtx) Err() error {
	switch s := c.state.Load(); {
	case s == ready:
		return c.inner.Err()
	case s == live && c.observe() == live:
		return nil
	}
	return c.arm().Err()
}

// Value asks the armed context, or the parent while c is unarmed: the
// answers differ only for the standard library's own key, which it asks
// for after calling Err (context.Cause) or Done (a derived context), and
// either arms c once it has ended.
func (c *deadlineCtx) Value(key any) any {
	if c.state.Load() == ready {
		return c.inner.Value(key)
	}
	return c.parent.Value(key)
}

func (c *deadlineCtx) String() string {
	name := fmt.Sprintf("%T", c.parent)
	if s, ok := c.parent.(fmt.Stringer); ok {
		name = s.String()
	}
	return name + ".WithTimeout(" + c.deadline.String() + ")"
}
