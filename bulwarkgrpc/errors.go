package bulwarkgrpc

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/recovery"
	"github.com/bulwark-go/bulwark/timeout"
)

// Code returns the gRPC status code for err:
//
//   - timeout.ErrTimeout is DeadlineExceeded, whatever error the operation
//     that ran late returned;
//   - an error carrying a gRPC status (a status error, or one wrapping it)
//     keeps its code;
//   - breaker.ErrOpen, bulkhead.ErrFull and adaptive.ErrOverloaded are
//     Unavailable: this server (or the dependency behind it) cannot take the
//     call now, and another replica may;
//   - ratelimit.ErrLimited is ResourceExhausted: the caller used up its
//     quota, and the same call will be refused anywhere until it waits;
//   - context.DeadlineExceeded is DeadlineExceeded;
//   - a recovered panic (recovery.ErrPanic) is Internal;
//   - context.Canceled is Canceled;
//   - anything else is Unknown, and nil is OK.
//
// The client interceptors retry Unavailable and ResourceExhausted by
// default, honouring the delay a rejection carries (see Error).
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if errors.Is(err, timeout.ErrTimeout) {
		return codes.DeadlineExceeded // whatever the late handler said
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		if st := gs.GRPCStatus(); st != nil {
			return st.Code()
		}
	}
	switch {
	case errors.Is(err, recovery.ErrPanic):
		return codes.Internal
	case errors.Is(err, ratelimit.ErrLimited):
		return codes.ResourceExhausted
	case errors.Is(err, breaker.ErrOpen), errors.Is(err, bulkhead.ErrFull), errors.Is(err, adaptive.ErrOverloaded):
		return codes.Unavailable
	case errors.Is(err, timeout.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}

// Error converts err into an error that gRPC sends as a status: its code
// is Code(err) and its message err's (for a recovered panic, only
// "internal error", so that a panic value never reaches a client). When
// err carries a delay (bulwark.RetryAfter: an open breaker, a rate limit,
// an overloaded limiter), the status carries it as a google.rpc.RetryInfo
// detail, which the client interceptors of this package honour.
//
// The result still unwraps to err, so errors.Is and errors.As see through
// it. Error returns nil for nil, and an error that already has a status
// unchanged.
func Error(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	code := Code(err)
	msg := err.Error()
	if code == codes.Internal && errors.Is(err, recovery.ErrPanic) {
		msg = "internal error"
	}
	st := status.New(code, msg)
	var ra bulwark.RetryAfter
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 && d < ratelimit.Never {
			if withInfo, e := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); e == nil {
				st = withInfo
			}
		}
	}
	return &statusError{err: err, st: st}
}

// statusError gives a bulwark error a gRPC status while keeping it
// reachable with errors.Is and errors.As.
type statusError struct {
	err error
	st  *status.Status
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return e.st }

// RetryDelay returns the delay a status error asks for in a
// google.rpc.RetryInfo detail, and whether it has one.
func RetryDelay(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return 0, false
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			if dur := ri.GetRetryDelay().AsDuration(); dur >= 0 {
				return dur, true
			}
		}
	}
	return 0, false
}

// pushback wraps a call's status error that carries a RetryInfo delay, so
// that the retry policy waits that long (it implements bulwark.RetryAfter).
// It keeps the status and unwraps to the original error.
type pushback struct {
	err   error
	delay time.Duration
}

func (e *pushback) Error() string              { return e.err.Error() }
func (e *pushback) Unwrap() error              { return e.err }
func (e *pushback) RetryAfter() time.Duration  { return e.delay }
func (e *pushback) GRPCStatus() *status.Status { s, _ := status.FromError(e.err); return s }

// withPushback returns err, wrapped when its status asks for a delay.
func withPushback(err error) error {
	if err == nil {
		return nil
	}
	if d, ok := RetryDelay(err); ok && d > 0 {
		return &pushback{err: err, delay: d}
	}
	return err
}
