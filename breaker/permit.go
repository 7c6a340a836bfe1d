package breaker

import (
	"context"
	"errors"
	"time"

	"github.com/bulwark-go/bulwark"
)

// A Permit is a call let through by [Breaker.Allow]. Report its outcome
// exactly once, with one of its methods; reporting twice counts the call
// twice. A permit whose outcome is never reported is not counted; a
// half-open breaker waiting for it opens again after Config.MaxHalfOpen.
//
// A Permit is a small value: copy it freely. The zero Permit, which Allow
// returns with an error and for a disabled breaker, ignores every report.
type Permit struct {
	b     *Breaker
	r     *record       // the state the call was admitted in
	start time.Duration // when the call started, if measured
	kind  uint8
}

// Done reports the call's error: nil is a success; an error that is or
// wraps context.Canceled is the caller giving up and is ignored, as
// Execute ignores the caller's cancellation; otherwise the error is
// classified as Execute does (a local rejection is ignored, then
// Config.IsIgnored and Config.IsFailure). Without the context Done cannot
// tell the caller's own deadline (context.DeadlineExceeded) from a slow
// dependency, and counts it as a failure; nor can it apply
// Config.IsFailureResult: use Finish when the context and result are at hand.
func (p Permit) Done(err error) {
	if err == nil && p.kind == admitWindow && p.r.silent && p.b.clean.Load() {
		return // a success that changes nothing and is reported to no one
	}
	p.done(err)
}

func (p Permit) done(err error) {
	if p.b == nil {
		return
	}
	o := bulwark.OutcomeSuccess
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		o = bulwark.OutcomeIgnored
	default:
		o = classify(p.r.cfg, err)
	}
	p.b.finish(p, o, err)
}

// Finish reports the call's result and error, classified as
// [Breaker.Execute] does: the caller's own cancellation of ctx is ignored.
func (p Permit) Finish(ctx context.Context, result any, err error) {
	if p.b == nil {
		return
	}
	cfg := p.r.cfg
	o := bulwark.OutcomeSuccess
	switch {
	case err == nil:
		if cfg.failureResult != nil && cfg.failureResult(result) {
			o = bulwark.OutcomeFailure
		}
	case bulwark.CallerDone(ctx, err):
		o = bulwark.OutcomeIgnored
	default:
		o = classify(cfg, err)
	}
	p.b.finish(p, o, err)
}

// Success reports that the call succeeded.
func (p Permit) Success() {
	if p.b != nil {
		p.b.finish(p, bulwark.OutcomeSuccess, nil)
	}
}

// Failure reports that the call failed.
func (p Permit) Failure() {
	if p.b != nil {
		p.b.finish(p, bulwark.OutcomeFailure, nil)
	}
}

// Ignore reports that the call's outcome says nothing about the dependency
// (the caller gave up, the request was invalid). It is not counted; a
// half-open breaker lets another probe through in its place.
func (p Permit) Ignore() {
	if p.b != nil {
		p.b.finish(p, bulwark.OutcomeIgnored, nil)
	}
}

// panicked records a call that panicked with v and re-raises the panic.
// A nil v is runtime.Goexit unwinding the call, which is not counted.
func (p Permit) panicked(v any) {
	if v == nil {
		p.b.finish(p, bulwark.OutcomeIgnored, nil)
		return
	}
	var err error
	if p.r.obs != nil {
		err = &panicError{value: v}
	}
	p.b.finish(p, bulwark.OutcomeFailure, err)
	panic(v)
}
