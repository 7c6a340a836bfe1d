package fallback

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
)

// A Func produces a result in place of a failed call. It receives the
// caller's context and the error the call failed with. Its result, error
// included, is returned to the caller as it is: to keep the original error
// visible, return it (or wrap it) yourself.
type Func func(ctx context.Context, err error) (any, error)

// Config configures a [Fallback].
type Config struct {
	// Name identifies the policy in events and snapshots.
	Name string
	// Func produces the replacement result. It is required. [Value] and
	// [For] build one from a fixed value or a typed function.
	Func Func
	// IsHandled reports whether a failure should be replaced. Nil means every
	// error is. Whatever it says, the caller's own cancellation
	// ([bulwark.CallerDone]) is never replaced, so a caller that gave up
	// learns that it did.
	IsHandled func(err error) bool
	// Observer receives KindFallback (Err is the call's error) each time
	// Func runs; Outcome says whether Func itself succeeded. Nil means no
	// reporting.
	Observer bulwark.Observer
}

// Fallback is a [bulwark.Policy] that replaces the result of a failed call.
// It is safe for concurrent use.
//
// The replacement's type is checked when the caller reads it: if Func
// returns a value of another type than the T of [bulwark.Get], Get returns
// the zero T and a [*bulwark.ResultTypeError] (which unwraps to Func's
// error, if any). Build Func with [For] to have the compiler check that it
// produces the caller's type.
type Fallback struct {
	name     string
	fn       Func
	handles  func(error) bool
	observer bulwark.Observer

	calls   atomic.Uint64
	handled atomic.Uint64
	failed  atomic.Uint64
}

// errNoFunc is returned by New when Config.Func is nil.
var errNoFunc = errors.New("fallback: Config.Func is required")

// New returns a Fallback, or an error if Config.Func is nil.
func New(c Config) (*Fallback, error) {
	if c.Func == nil {
		return nil, errNoFunc
	}
	return &Fallback{name: c.Name, fn: c.Func, handles: c.IsHandled, observer: c.Observer}, nil
}

// Value returns a Func that always returns v and no error.
func Value(v any) Func {
	return func(context.Context, error) (any, error) { return v, nil }
}

// For adapts a typed function to a Func, so the compiler checks the
// fallback's result type where it is written:
//
//	fallback.New(fallback.Config{Func: fallback.For(func(ctx context.Context, err error) ([]Item, error) {
//		return cache.Items(ctx)
//	})})
func For[T any](fn func(ctx context.Context, err error) (T, error)) Func {
	return func(ctx context.Context, err error) (any, error) {
		v, ferr := fn(ctx, err)
		return v, ferr
	}
}

// Name returns Config.Name.
func (f *Fallback) Name() string { return f.name }

// Execute runs op. When op fails with an error that IsHandled accepts and
// that is not the caller's own cancellation, Execute returns what Func
// returns for that error; otherwise it returns op's result unchanged.
//
// Panics are not recovered: a panic in op or in Func goes on up the stack.
func (f *Fallback) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	f.calls.Add(1)
	v, err := op.Call(ctx)
	if err == nil || bulwark.CallerDone(ctx, err) || (f.handles != nil && !f.handles(err)) {
		return v, err
	}
	f.handled.Add(1)
	fv, ferr := f.fn(ctx, err)
	outcome := bulwark.OutcomeSuccess
	if ferr != nil {
		f.failed.Add(1)
		outcome = bulwark.OutcomeFailure
	}
	if f.observer != nil {
		f.observer.Observe(bulwark.Event{Kind: bulwark.KindFallback, Policy: "fallback", Name: f.name,
			Outcome: outcome, Err: err})
	}
	return fv, ferr
}

// Snapshot holds a [Fallback]'s live figures, counted since it was made.
type Snapshot struct {
	Calls   uint64 // calls to Execute
	Handled uint64 // failures for which Func ran
	Failed  uint64 // of those, the times Func itself returned an error
}

// Snapshot returns the policy's figures.
func (f *Fallback) Snapshot() Snapshot {
	return Snapshot{Calls: f.calls.Load(), Handled: f.handled.Load(), Failed: f.failed.Load()}
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (f *Fallback) Synchronous() bool { return true }
