package chaos

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInjected is the error an error fault returns when its Err is nil, and
// the value a panic fault panics with when its PanicValue is nil.
var ErrInjected = errors.New("chaos: injected fault")

// Kind says what a [Fault] does to a call.
type Kind uint8

// The kinds of faults.
const (
	// KindError: the call fails with Fault.Err without running the
	// operation.
	KindError Kind = iota + 1
	// KindLatency: the call waits Fault.Latency, then goes on (to the next
	// fault, then to the operation).
	KindLatency
	// KindPanic: the call panics with Fault.PanicValue without running the
	// operation.
	KindPanic
	// KindResult: the call returns Fault.Result and a nil error without
	// running the operation.
	KindResult
)

// String returns "error", "latency", "panic" or "result".
func (k Kind) String() string {
	switch k {
	case KindError:
		return "error"
	case KindLatency:
		return "latency"
	case KindPanic:
		return "panic"
	case KindResult:
		return "result"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// A Fault is one thing an [Injector] may do to a call, and the share of calls
// it does it to. Build one with [Error], [Latency], [Panic] or [Result], or
// as a struct literal.
type Fault struct {
	// Kind says what the fault does.
	Kind Kind
	// Rate is the share of calls the fault hits, from 0 (none) to 1 (all).
	Rate float64
	// Err is the error of a KindError fault. Nil means [ErrInjected].
	Err error
	// Latency is the wait of a KindLatency fault. It must be positive.
	Latency time.Duration
	// PanicValue is what a KindPanic fault panics with. Nil means
	// [ErrInjected].
	PanicValue any
	// Result is what a KindResult fault returns. With [bulwark.Get] it must
	// be of the call's result type (or nil, giving the zero value).
	Result any
}

// Error returns a fault that makes a share rate of calls fail with err
// (nil means [ErrInjected]) without running the operation.
func Error(rate float64, err error) Fault { return Fault{Kind: KindError, Rate: rate, Err: err} }

// Latency returns a fault that delays a share rate of calls by d before they
// go on.
func Latency(rate float64, d time.Duration) Fault {
	return Fault{Kind: KindLatency, Rate: rate, Latency: d}
}

// Panic returns a fault that makes a share rate of calls panic with v (nil
// means [ErrInjected]) without running the operation.
func Panic(rate float64, v any) Fault { return Fault{Kind: KindPanic, Rate: rate, PanicValue: v} }

// Result returns a fault that makes a share rate of calls return v and a nil
// error without running the operation.
func Result(rate float64, v any) Fault { return Fault{Kind: KindResult, Rate: rate, Result: v} }

// validate reports what is wrong with fault number i.
func (f Fault) validate(i int) error {
	switch {
	case f.Kind < KindError || f.Kind > KindResult:
		return fmt.Errorf("chaos: Config.Faults[%d].Kind has an unknown value %d", i, uint8(f.Kind))
	case !validRate(f.Rate):
		return fmt.Errorf("chaos: Config.Faults[%d].Rate must be between 0 and 1 (got %v)", i, f.Rate)
	case f.Kind == KindLatency && f.Latency <= 0:
		return fmt.Errorf("chaos: Config.Faults[%d].Latency must be positive for a latency fault (got %v)", i, f.Latency)
	}
	return nil
}

func validRate(r float64) bool { return r >= 0 && r <= 1 && !math.IsNaN(r) }
