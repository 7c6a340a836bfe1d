package bulwark

import "context"

type attemptKey struct{}

// Attempt returns the number of the attempt that ctx belongs to, counting
// from 1, as set by the innermost retry or hedge policy that marked it: 2
// for the first retry, or for the first hedged attempt. Outside such a
// policy it returns 1.
//
// A first attempt is not marked, so that it costs nothing (looking for an
// outer mark would cost a context lookup on every call): inside nested
// retries, an inner policy's first attempt reports the outer policy's
// number.
func Attempt(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}

// WithAttempt returns ctx marked as attempt n (counting from 1), for a
// policy that runs an operation more than once. For n <= 1 it returns ctx
// itself (see [Attempt]), so that a first attempt costs nothing.
func WithAttempt(ctx context.Context, n int) context.Context {
	if n <= 1 {
		return ctx
	}
	return context.WithValue(ctx, attemptKey{}, n)
}
