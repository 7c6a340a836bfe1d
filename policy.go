package bulwark

import (
	"context"
	"fmt"
	"reflect"
)

// An Operation is the unit of work a [Policy] runs. Its result is returned,
// never stored, so concurrent calls of the same Operation are safe as long as
// the underlying function is.
type Operation interface {
	Call(ctx context.Context) (any, error)
}

// OperationFunc adapts a function to [Operation].
type OperationFunc func(ctx context.Context) (any, error)

// Call calls f(ctx).
func (f OperationFunc) Call(ctx context.Context) (any, error) { return f(ctx) }

// A Policy runs an [Operation] under some behaviour: it may run it once, many
// times, concurrently, not at all, or replace its result.
//
// Implementations must be safe for concurrent use, must pass ctx (or a
// context derived from it) to op, and must return op's result unchanged unless
// changing it is the policy's purpose (a fallback).
type Policy interface {
	Execute(ctx context.Context, op Operation) (any, error)
}

// typed turns a typed function into an Operation without allocating: a func
// value is pointer-shaped, so converting it to an interface is free.
type typed[T any] func(ctx context.Context) (T, error)

func (f typed[T]) Call(ctx context.Context) (any, error) {
	v, err := f(ctx)
	return v, err
}

// Get runs fn under p and returns its result with its static type.
//
// If p returns a value that is not a T (a fallback configured with a value of
// another type), Get returns the zero T and a *[ResultTypeError].
func Get[T any](ctx context.Context, p Policy, fn func(ctx context.Context) (T, error)) (T, error) {
	v, err := p.Execute(ctx, typed[T](fn))
	if v == nil {
		var zero T
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		var zero T
		return zero, &ResultTypeError{Want: reflect.TypeFor[T](), Got: reflect.TypeOf(v), Err: err}
	}
	return t, err
}

// Run runs fn under p. It is Get for functions that return only an error.
func Run(ctx context.Context, p Policy, fn func(ctx context.Context) error) error {
	_, err := p.Execute(ctx, errOnly(fn))
	return err
}

type errOnly func(ctx context.Context) error

func (f errOnly) Call(ctx context.Context) (any, error) { return nil, f(ctx) }

// ResultTypeError reports that a policy produced a result of a type other
// than the one the caller of [Get] asked for, typically a fallback value of
// the wrong type.
type ResultTypeError struct {
	Want reflect.Type // the T of Get[T]
	Got  reflect.Type // the dynamic type of the value the policy returned
	Err  error        // the error returned alongside the value, if any
}

func (e *ResultTypeError) Error() string {
	return fmt.Sprintf("bulwark: policy returned a %v where the call expects a %v", e.Got, e.Want)
}

// Unwrap returns the error that came with the mistyped value.
func (e *ResultTypeError) Unwrap() error { return e.Err }
