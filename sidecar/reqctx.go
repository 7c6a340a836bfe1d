package sidecar

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// requestCtx is the context of a request on the fast path under
// request_timeout: it has the request's deadline and ends with its parent
// (the fast path's, which ends on shutdown). Unlike context.WithDeadline it
// starts no timer until something waits on Done: the fast path binds the
// deadline to the sockets themselves, so most requests never wait on it
// and cost no timer. Err reads the clock.
//
// context.Cause reports the parent's cause, nil while the parent is live,
// even once the deadline has passed: the fast path never asks for it.
type requestCtx struct {
	parent   context.Context
	pdone    <-chan struct{} // parent.Done()
	deadline time.Time

	mu     sync.Mutex
	done   chan struct{} // made by the first Done
	closed bool          // done is closed
	err    error
	timer  *time.Timer
	stop   func() bool // stops context.AfterFunc on the parent
}

func newRequestCtx(parent context.Context, deadline time.Time) *requestCtx {
	return &requestCtx{parent: parent, pdone: parent.Done(), deadline: deadline}
}

func (c *requestCtx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

func (c *requestCtx) Value(key any) any { return c.parent.Value(key) }

func (c *requestCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errLocked()
}

// errLocked sets err once the parent ended or the deadline passed, and
// closes done (if made) once err is set.
func (c *requestCtx) errLocked() error {
	if c.err == nil {
		if err := c.parentErr(); err != nil {
			c.err = err
		} else if !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
			c.err = context.DeadlineExceeded
		}
	}
	if c.err != nil && c.done != nil && !c.closed {
		c.closed = true
		close(c.done)
	}
	return c.err
}

// parentErr is the parent's Err, without the lock a cancelCtx's Err takes
// (shared by every request) while the parent is live.
func (c *requestCtx) parentErr() error {
	select {
	case <-c.pdone:
		return c.parent.Err()
	default:
		return nil
	}
}

func (c *requestCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	if c.errLocked() == nil {
		if !c.deadline.IsZero() {
			c.timer = time.AfterFunc(time.Until(c.deadline), c.check)
		}
		c.stop = context.AfterFunc(c.parent, c.check)
	}
	return c.done
}

// check runs when the deadline passes or the parent ends.
func (c *requestCtx) check() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errLocked()
}

// cancel ends the context (context.Canceled, unless it had ended) and
// releases its timer.
func (c *requestCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stop != nil {
		c.stop()
	}
	if c.err == nil {
		c.err = context.Canceled
	}
	c.errLocked()
}

// gone ends the context: the client went away.
func (c *requestCtx) gone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = errClientGone
	}
	c.errLocked()
}

// errClientGone ends a request whose client went away.
var errClientGone = fmt.Errorf("sidecar: the client went away: %w", context.Canceled)
