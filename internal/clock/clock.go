// Package clock reads a policy's [bulwark.Clock], or the real clock when it
// is nil, so that a policy without a Clock pays one nil check.
package clock

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
)

// Now returns c.Now(), or time.Now() when c is nil.
func Now(c bulwark.Clock) time.Time {
	if c == nil {
		return time.Now()
	}
	return c.Now()
}

// Since returns the time elapsed since t on c. With a nil c it is
// time.Since, which reads only the monotonic clock.
func Since(c bulwark.Clock, t time.Time) time.Duration {
	if c == nil {
		return time.Since(t)
	}
	return c.Now().Sub(t)
}

// Until returns the duration until t on c.
func Until(c bulwark.Clock, t time.Time) time.Duration {
	if c == nil {
		return time.Until(t)
	}
	return t.Sub(c.Now())
}

// Real is a *time.Timer as a [bulwark.Timer]. Being one pointer, it
// converts to the interface without allocating.
type Real struct{ T *time.Timer }

func (r Real) C() <-chan time.Time        { return r.T.C }
func (r Real) Stop() bool                 { return r.T.Stop() }
func (r Real) Reset(d time.Duration) bool { return r.T.Reset(d) }

// NewTimer is c.NewTimer, or time.NewTimer when c is nil.
func NewTimer(c bulwark.Clock, d time.Duration) bulwark.Timer {
	if c == nil {
		return Real{time.NewTimer(d)}
	}
	return c.NewTimer(d)
}

// AfterFunc is c.AfterFunc, or time.AfterFunc when c is nil.
func AfterFunc(c bulwark.Clock, d time.Duration, f func()) bulwark.Timer {
	if c == nil {
		return Real{time.AfterFunc(d, f)}
	}
	return c.AfterFunc(d, f)
}

// Sleep waits for d on c, or until ctx ends, and then returns ctx.Err().
// A d of zero or less returns ctx.Err() at once, as time.Sleep returns.
func Sleep(ctx context.Context, c bulwark.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := NewTimer(c, d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithTimeout is context.WithTimeoutCause on c: the context ends d from
// c.Now(), with cause, when c's timer fires.
//
// On a Clock other than the real one, the context's Deadline and Err are
// those of a deadline (context.DeadlineExceeded), but a context derived
// from it with the context package's functions ends with context.Canceled
// (its cause is still cause): only package context can make a deadline
// error propagate.
func WithTimeout(parent context.Context, c bulwark.Clock, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	if c == nil {
		return context.WithTimeoutCause(parent, d, cause)
	}
	inner, cancel := context.WithCancelCause(parent)
	v := &virtualDeadline{Context: inner, deadline: c.Now().Add(d)}
	if d <= 0 {
		v.expired.Store(true)
		cancel(cause)
		return v, func() {}
	}
	t := c.AfterFunc(d, func() {
		if inner.Err() == nil {
			v.expired.Store(true)
			cancel(cause)
		}
	})
	return v, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

type virtualDeadline struct {
	context.Context
	deadline time.Time
	expired  atomic.Bool
}

func (v *virtualDeadline) Deadline() (time.Time, bool) {
	if d, ok := v.Context.Deadline(); ok && d.Before(v.deadline) {
		return d, true
	}
	return v.deadline, true
}

func (v *virtualDeadline) Err() error {
	err := v.Context.Err()
	if err != nil && v.expired.Load() {
		return context.DeadlineExceeded
	}
	return err
}
