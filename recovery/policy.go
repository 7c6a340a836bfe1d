package recovery

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
)

// Config configures a [Recovery] policy. The zero Config is valid.
type Config struct {
	// Name identifies the policy in events and log records. Default: "".
	Name string
	// OnPanic is called with each panic the policy recovers.
	// Default: the package default's handler (see SetHandler).
	OnPanic func(*PanicError)
	// Logger receives an error-level record per panic, with the stack.
	// Default: the package default's logger, else slog.Default().
	Logger *slog.Logger
	// Observer receives a KindPanic event per panic.
	// Default: the package default's observer.
	Observer bulwark.Observer
}

// Recovery is a [bulwark.Policy] that turns a panic of the operation into a
// *[PanicError], so that the policies around it (a retry, a breaker, a
// fallback) see an ordinary error. Put it innermost in a chain, next to the
// operation: Chain(fallback, retry, breaker, recovery).
//
// Only panics on the goroutine that runs the operation are caught. A
// runtime.Goexit passes through. A Recovery is safe for concurrent use.
type Recovery struct {
	rep    Reporter
	panics atomic.Uint64
}

// Snapshot is what a [Recovery] has done so far.
type Snapshot struct {
	Name   string
	Panics uint64 // panics recovered since New
}

// New returns a Recovery policy for cfg. No Config is invalid; the error is
// there for uniformity with the other policies and is always nil.
func New(cfg Config) (*Recovery, error) {
	return &Recovery{rep: Reporter{
		Name:     cfg.Name,
		OnPanic:  cfg.OnPanic,
		Logger:   cfg.Logger,
		Observer: cfg.Observer,
	}}, nil
}

// Execute calls op and returns its result. If op panics, Execute recovers,
// reports the panic and returns a nil result with a *PanicError.
func (r *Recovery) Execute(ctx context.Context, op bulwark.Operation) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			pe := newPanicError(p)
			r.panics.Add(1)
			r.rep.report(ctx, pe)
			v, err = nil, pe
		}
	}()
	return op.Call(ctx)
}

// Name returns Config.Name.
func (r *Recovery) Name() string { return r.rep.Name }

// Snapshot returns the policy's figures.
func (r *Recovery) Snapshot() Snapshot {
	return Snapshot{Name: r.rep.Name, Panics: r.panics.Load()}
}

// Reporter returns the Reporter built from the policy's Config, to recover
// panics elsewhere (goroutines, HTTP handlers) with the same settings.
func (r *Recovery) Reporter() *Reporter { return &r.rep }

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (r *Recovery) Synchronous() bool { return true }
