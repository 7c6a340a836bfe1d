package bulwark

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// An Observer receives what policies do. Policies call Observe synchronously
// on the calling goroutine, outside their locks, so an implementation must be
// safe for concurrent use and should return quickly (increment a counter,
// log a line); it must not call back into the policy that reported.
//
// A policy with no observer does no reporting work beyond a nil check.
type Observer interface {
	Observe(e Event)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(e Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Observers returns an Observer that reports each event to every non-nil
// observer given, in order. It returns nil when none is given.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		switch o := o.(type) {
		case nil:
		case multiObserver:
			list = append(list, o...)
		default:
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) Observe(e Event) {
	for _, o := range m {
		o.Observe(e)
	}
}

// Kind says what an [Event] reports. bulwark defines the kinds below;
// another package defines its own with [NewKind] (lockorder.KindInversion).
type Kind uint8

// The kinds of events. Each names the Event fields it fills in beyond Kind,
// Policy and Name.
const (
	// KindCall: a call the policy let through has finished. Outcome says how;
	// Slow marks a call slower than the policy's slow-call threshold;
	// Duration is set when the policy measured it; Err is the call's error.
	KindCall Kind = iota + 1
	// KindRejected: the policy refused a call without running it (breaker
	// open, bulkhead full, rate limited, load shed, retry budget spent).
	// Err is the rejection error; Delay, when set, is when to come back.
	KindRejected
	// KindStateChange: the policy moved From one state To another.
	KindStateChange
	// KindRetry: a retry is about to wait Delay before attempt Attempt
	// (the first retry is attempt 2) after error Err.
	KindRetry
	// KindExhausted: retries gave up after Attempt attempts; Err is the last
	// error.
	KindExhausted
	// KindBudgetExhausted: the retry budget refused a retry.
	KindBudgetExhausted
	// KindTimeout: a call passed the policy's deadline (Delay is the timeout).
	KindTimeout
	// KindFallback: a fallback served a result in place of error Err.
	KindFallback
	// KindHedge: a hedged attempt was started (Attempt counts from 2).
	KindHedge
	// KindHedgeWon: a hedged attempt (not the first) produced the result.
	KindHedgeWon
	// KindPanic: a panic was recovered. Err holds it; Stack is the stack.
	KindPanic
	// KindWait: a call waited Delay before it was admitted (rate limiter,
	// bulkhead queue).
	KindWait
	// KindLimitChange: the policy moved its limit (the adaptive limiter's
	// calls in flight) From one value To another, both in decimal.
	KindLimitChange
)

// builtinKinds names the kinds above; kinds holds them and those
// packages registered with NewKind, indexed by Kind.
var builtinKinds = [...]string{
	KindCall:            "call",
	KindRejected:        "rejected",
	KindStateChange:     "state_change",
	KindRetry:           "retry",
	KindExhausted:       "exhausted",
	KindBudgetExhausted: "budget_exhausted",
	KindTimeout:         "timeout",
	KindFallback:        "fallback",
	KindHedge:           "hedge",
	KindHedgeWon:        "hedge_won",
	KindPanic:           "panic",
	KindWait:            "wait",
	KindLimitChange:     "limit_change",
}

var (
	kindsMu sync.Mutex // serialises NewKind
	kinds   atomic.Pointer[[]string]
)

func init() {
	names := builtinKinds[:]
	kinds.Store(&names)
}

// NewKind registers a kind of event that a package other than bulwark
// reports (lockorder.KindInversion), named name, and returns it. The name
// is what String returns: the value of the "kind" label of
// bulwark_events_total and of the log attribute, so it must be snake case
// and unique. Call NewKind from a package-level variable declaration, once
// per kind:
//
//	var KindDrained = bulwark.NewKind("drained")
//
// NewKind panics if name is not snake case or is already taken, or if the
// 255 values of Kind are all in use.
func NewKind(name string) Kind {
	if !isSnake(name) {
		panic("bulwark: NewKind(" + strconv.Quote(name) + "): the name must be snake case")
	}
	kindsMu.Lock()
	defer kindsMu.Unlock()
	old := *kinds.Load()
	if slices.Contains(old, name) {
		panic("bulwark: NewKind(" + strconv.Quote(name) + "): the name is already taken")
	}
	if len(old) > math.MaxUint8 {
		panic("bulwark: NewKind(" + strconv.Quote(name) + "): every Kind value is in use")
	}
	next := append(old[:len(old):len(old)], name)
	kinds.Store(&next)
	return Kind(len(old))
}

func isSnake(s string) bool {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return s[0] >= 'a'
}

// String returns the kind's name in snake case ("state_change"), or
// "unknown" for a value neither bulwark defines nor [NewKind] returned.
func (k Kind) String() string {
	names := *kinds.Load()
	if int(k) < len(names) && names[k] != "" {
		return names[k]
	}
	return "unknown"
}

// Outcome classifies a finished call.
type Outcome uint8

// The outcomes of a call.
const (
	OutcomeSuccess Outcome = iota + 1 // the call succeeded
	OutcomeFailure                    // the call failed and counts as a failure
	OutcomeIgnored                    // the call failed but is not counted (classified as ignored, or the caller cancelled)
)

// String returns "success", "failure" or "ignored".
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeFailure:
		return "failure"
	case OutcomeIgnored:
		return "ignored"
	}
	return "unknown"
}

// An Event is one thing a policy did. Which fields are set depends on Kind;
// a kind defined by another package documents the fields it sets.
type Event struct {
	Kind     Kind
	Policy   string        // the kind of policy: "breaker", "retry", "timeout", ...
	Name     string        // the policy instance's configured name
	Outcome  Outcome       // KindCall
	Slow     bool          // KindCall: slower than the slow-call threshold
	From, To string        // KindStateChange, KindLimitChange
	Attempt  int           // KindRetry, KindExhausted, KindHedge
	Delay    time.Duration // KindRetry, KindTimeout, KindWait, KindRejected
	Duration time.Duration // KindCall, when measured
	Err      error
	Stack    []byte // KindPanic
}

// CallerDone reports whether err is the caller's own cancellation: ctx is
// done and err is, or wraps, context.Canceled or context.DeadlineExceeded.
// Policies never count such an error as a failure of the dependency and never
// retry it.
func CallerDone(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() == nil {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// RetryAfter is implemented by errors that say how long to wait before trying
// again: a breaker's open error, a rate limiter's rejection, an HTTP 429 or
// 503 with a Retry-After header. The retry policy honours it.
type RetryAfter interface {
	error
	RetryAfter() time.Duration
}
