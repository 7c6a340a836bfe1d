package fallback

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
)

// ErrAllFailed is matched by a [SequenceError]: the operation and every step
// of a [Sequence] failed.
var ErrAllFailed = errors.New("fallback: every step failed")

// Step is one alternative of a [Sequence].
type Step struct {
	// Name identifies the step in events, snapshots and errors.
	// Default: "step-N", N counting the steps from 1.
	Name string
	// Policy, when set, runs Func (a breaker, a timeout, a retry, or a
	// bulwark.Chain of them), so each source has its own protection.
	Policy bulwark.Policy
	// Func produces the step's result. It receives the error of the step
	// before (of the operation itself for the first step). Required.
	// [For] builds one from a typed function, [Value] from a fixed value.
	Func Func
}

// SequenceConfig configures a [Sequence].
type SequenceConfig struct {
	// Name identifies the policy in events and snapshots.
	Name string
	// Steps are tried in order after the operation fails, until one
	// succeeds. At least one is required; a last step built with [Value]
	// never fails.
	Steps []Step
	// IsHandled reports whether a failure moves on to the next step. Nil
	// means every error does. The caller's own cancellation
	// ([bulwark.CallerDone]) never does: it is returned at once.
	IsHandled func(err error) bool
	// Observer receives KindFallback each time a step runs: Err is the
	// error it replaces, Outcome whether it succeeded, and Attempt its
	// place (2 for the first step, the operation being 1). Nil means no
	// reporting.
	Observer bulwark.Observer
}

// Sequence is a [bulwark.Policy] that tries alternatives in order: the
// operation (the primary source, behind whatever policies are chained
// inside), then each step (a secondary source, behind its own Policy), and
// typically last a static value. The first success is returned.
//
//	c, _ := fallback.NewSequence(fallback.SequenceConfig{Steps: []fallback.Step{
//		{Name: "replica", Policy: replicaBreaker, Func: fallback.For(fromReplica)},
//		{Name: "static", Func: fallback.Value(defaultConfig)},
//	}})
//	cfg, err := bulwark.Get(ctx, bulwark.Chain(c, primaryBreaker), fromPrimary)
//
// When everything fails, Execute returns a *[SequenceError] holding every
// error. Sequence is safe for concurrent use.
type Sequence struct {
	name     string
	steps    []Step
	handles  func(error) bool
	observer bulwark.Observer

	calls, primary, exhausted atomic.Uint64
	stats                     []stepStats
}

type stepStats struct {
	served, failed atomic.Uint64
}

// NewSequence returns a Sequence, or an error naming the bad step.
func NewSequence(c SequenceConfig) (*Sequence, error) {
	if len(c.Steps) == 0 {
		return nil, errors.New("fallback: SequenceConfig.Steps is empty; give at least one step")
	}
	ch := &Sequence{name: c.Name, steps: make([]Step, len(c.Steps)), handles: c.IsHandled, observer: c.Observer,
		stats: make([]stepStats, len(c.Steps))}
	for i, st := range c.Steps {
		if st.Func == nil {
			return nil, fmt.Errorf("fallback: SequenceConfig.Steps[%d] (%q): Func is required", i, st.Name)
		}
		if st.Name == "" {
			st.Name = "step-" + strconv.Itoa(i+1)
		}
		ch.steps[i] = st
	}
	return ch, nil
}

// Name returns SequenceConfig.Name.
func (c *Sequence) Name() string { return c.name }

// stepOp runs a step's Func as an Operation, for the step's Policy.
type stepOp struct {
	fn   Func
	prev error
}

func (s *stepOp) Call(ctx context.Context) (any, error) { return s.fn(ctx, s.prev) }

// Execute runs op, then the steps in order while they fail with errors
// that IsHandled accepts, and returns the first success. A failure that
// IsHandled rejects, or the caller's cancellation, is returned as it is.
// Panics are not recovered.
func (c *Sequence) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	c.calls.Add(1)
	v, err := op.Call(ctx)
	if err == nil {
		c.primary.Add(1)
		return v, nil
	}
	errs := make([]error, 1, 1+len(c.steps))
	errs[0] = err
	for i := range c.steps {
		if bulwark.CallerDone(ctx, err) || (c.handles != nil && !c.handles(err)) {
			return v, err
		}
		st := &c.steps[i]
		prev := err
		if st.Policy != nil {
			v, err = st.Policy.Execute(ctx, &stepOp{fn: st.Func, prev: prev})
		} else {
			v, err = st.Func(ctx, prev)
		}
		outcome := bulwark.OutcomeSuccess
		if err != nil {
			outcome = bulwark.OutcomeFailure
			c.stats[i].failed.Add(1)
		} else {
			c.stats[i].served.Add(1)
		}
		if c.observer != nil {
			c.observer.Observe(bulwark.Event{Kind: bulwark.KindFallback, Policy: "fallback", Name: c.name,
				Outcome: outcome, Attempt: i + 2, Err: prev})
		}
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
	}
	if bulwark.CallerDone(ctx, err) {
		return v, err
	}
	c.exhausted.Add(1)
	names := make([]string, len(c.steps))
	for i := range c.steps {
		names[i] = c.steps[i].Name
	}
	return nil, &SequenceError{Name: c.name, Steps: names, Errs: errs}
}

// SequenceError reports that the operation and every step of a [Sequence]
// failed. It matches [ErrAllFailed], and errors.Is and errors.As also look
// into each of Errs.
type SequenceError struct {
	Name  string   // SequenceConfig.Name
	Steps []string // the steps' names, in order
	Errs  []error  // the operation's error, then each step's
}

func (e *SequenceError) Error() string {
	var b strings.Builder
	b.WriteString("fallback: ")
	if e.Name != "" {
		b.WriteString(e.Name + ": ")
	}
	b.WriteString("every step failed: ")
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteString("; ")
		}
		name := "operation"
		if i > 0 && i-1 < len(e.Steps) {
			name = e.Steps[i-1]
		}
		b.WriteString(name + ": " + err.Error())
	}
	return b.String()
}

// Is reports whether target is [ErrAllFailed].
func (e *SequenceError) Is(target error) bool { return target == ErrAllFailed }

// Unwrap returns every error, the operation's first.
func (e *SequenceError) Unwrap() []error { return e.Errs }

// StepSnapshot holds the figures of one step of a [Sequence].
type StepSnapshot struct {
	Name   string
	Served uint64 // calls this step answered
	Failed uint64 // times it failed
}

// SequenceSnapshot holds a [Sequence]'s live figures, counted since it was made.
type SequenceSnapshot struct {
	Calls     uint64 // calls to Execute
	Primary   uint64 // calls the operation answered itself
	Steps     []StepSnapshot
	Exhausted uint64 // calls where everything failed
}

// Snapshot returns the policy's figures.
func (c *Sequence) Snapshot() SequenceSnapshot {
	s := SequenceSnapshot{Calls: c.calls.Load(), Primary: c.primary.Load(), Exhausted: c.exhausted.Load(),
		Steps: make([]StepSnapshot, len(c.steps))}
	for i := range c.steps {
		s.Steps[i] = StepSnapshot{Name: c.steps[i].Name, Served: c.stats[i].served.Load(), Failed: c.stats[i].failed.Load()}
	}
	return s
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (c *Sequence) Synchronous() bool { return true }
