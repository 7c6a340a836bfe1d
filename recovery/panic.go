package recovery

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrPanic matches every [*PanicError] with errors.Is, so a caller can test
// for "a panic was recovered" without errors.As.
var ErrPanic = errors.New("recovery: panic")

// ErrGoexit is the error of a goroutine started by [Go] or [Group.Go] whose
// function called runtime.Goexit (t.FailNow in a test does) instead of
// returning.
var ErrGoexit = errors.New("recovery: goroutine called runtime.Goexit")

// PanicError is a recovered panic turned into an error.
type PanicError struct {
	// Value is the value the code panicked with: the argument of panic, or
	// the runtime.Error of a runtime fault (nil map write, index out of
	// range, panic(nil) as *runtime.PanicNilError).
	Value any
	// Stack is the panicking goroutine's stack at the point of recovery, as
	// runtime/debug.Stack formats it; it includes the frame that panicked.
	Stack []byte
}

// Error returns "recovery: panic: " followed by the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("recovery: panic: %v", e.Value)
}

// Unwrap returns Value if it is an error (a panic with an error, or a
// runtime.Error), so errors.Is and errors.As see through the panic; it
// returns nil otherwise.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Is reports whether target is [ErrPanic].
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// newPanicError builds the error for a value recovered in a deferred
// function, capturing the stack there: the panicking frames are still on it.
func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// Do calls fn and returns its error; if fn panics, Do recovers, reports the
// panic to the package's default [Reporter] and returns it as a
// *[PanicError]. A runtime.Goexit in fn is not stopped.
//
// Do catches panics of fn's own goroutine only: a panic in a goroutine that
// fn starts still ends the process unless that goroutine recovers it (start
// it with [Go]).
func Do(fn func() error) error { return Default().Do(fn) }

// Call is [Do] for functions that return a value: a panic in fn becomes a
// *[PanicError] and the zero T.
func Call[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			pe := newPanicError(p)
			Default().report(context.Background(), pe)
			var zero T
			v, err = zero, pe
		}
	}()
	return fn()
}

// Do calls fn like the package-level [Do], reporting a panic to r.
func (r *Reporter) Do(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			pe := newPanicError(p)
			r.report(context.Background(), pe)
			err = pe
		}
	}()
	return fn()
}
