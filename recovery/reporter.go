package recovery

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
)

// A Reporter says where recovered panics go. Every panic that this package
// recovers is reported three ways, in this order:
//
//  1. logged at slog.LevelError with its value and stack;
//  2. sent to the observer as a [bulwark.Event] of kind [bulwark.KindPanic]
//     with Policy "recovery", Err the *[PanicError] and Stack its stack;
//  3. passed to the OnPanic handler.
//
// A nil field falls back to the same field of the package default (see
// [SetDefault] and [SetHandler]), and a nil Logger there to slog.Default().
// So a handler installed once with SetHandler hears about every panic, also
// those recovered by a policy built with its own Logger.
//
// A Reporter must not be changed once in use; it is then safe for
// concurrent use. The zero Reporter reports to the package default.
type Reporter struct {
	// Name is the Event.Name of the reports (a policy's Config.Name).
	// Default: "".
	Name string
	// OnPanic, if set, is called with each recovered panic, on the goroutine
	// that recovered it, after the log line and the observer. A panic in
	// OnPanic is recovered and logged, never propagated.
	// Default: the package default's handler (none unless SetHandler).
	OnPanic func(*PanicError)
	// Logger receives an error-level record per panic. To silence it, set
	// slog.New(slog.DiscardHandler).
	// Default: the package default's logger, else slog.Default().
	Logger *slog.Logger
	// Observer receives a KindPanic event per panic.
	// Default: the package default's observer (none unless SetDefault).
	Observer bulwark.Observer
}

var std atomic.Pointer[Reporter]

func init() { std.Store(&Reporter{}) }

// Default returns the package default Reporter, used by [Do], [Call], [Go],
// [Group] and [Middleware] when no other is given. The result must not be
// modified; use [SetDefault] or [SetHandler].
func Default() *Reporter { return std.Load() }

// SetDefault makes a copy of r the package default Reporter. Its nil fields
// mean: no handler, slog.Default(), no observer.
func SetDefault(r Reporter) {
	std.Store(&r)
}

// SetHandler sets the package default's OnPanic handler, keeping its other
// fields; nil removes it. Install it early in main, for example to page
// someone or count panics: it hears about every panic this package recovers
// whose own Reporter has no handler.
func SetHandler(h func(*PanicError)) {
	for {
		old := std.Load()
		n := *old
		n.OnPanic = h
		if std.CompareAndSwap(old, &n) {
			return
		}
	}
}

// Report reports pe to the log, the observer and the handler of r, with
// fallbacks as described on [Reporter]. Use it for panics recovered by your
// own code; a nil pe is ignored. ctx is passed to the logger.
func (r *Reporter) Report(ctx context.Context, pe *PanicError) {
	if pe == nil {
		return
	}
	r.report(ctx, pe)
}

func (r *Reporter) report(ctx context.Context, pe *PanicError, attrs ...slog.Attr) {
	if r == nil {
		r = Default()
	}
	d := Default()
	logger, obs, h := r.Logger, r.Observer, r.OnPanic
	if logger == nil {
		logger = d.Logger
	}
	if logger == nil {
		logger = slog.Default()
	}
	if obs == nil {
		obs = d.Observer
	}
	if h == nil {
		h = d.OnPanic
	}
	all := make([]slog.Attr, 0, 3+len(attrs))
	all = append(all, slog.Any("panic", pe.Value))
	if r.Name != "" {
		all = append(all, slog.String("name", r.Name))
	}
	all = append(all, attrs...)
	all = append(all, slog.String("stack", string(pe.Stack)))
	logger.LogAttrs(ctx, slog.LevelError, "recovery: panic recovered", all...)
	if obs != nil {
		obs.Observe(bulwark.Event{Kind: bulwark.KindPanic, Policy: "recovery", Name: r.Name, Err: pe, Stack: pe.Stack})
	}
	if h != nil {
		callHandler(ctx, logger, h, pe)
	}
}

// callHandler runs a user handler so that a bug in it cannot turn a
// recovered panic into a crash.
func callHandler(ctx context.Context, logger *slog.Logger, h func(*PanicError), pe *PanicError) {
	defer func() {
		if p := recover(); p != nil {
			inner := newPanicError(p)
			logger.LogAttrs(ctx, slog.LevelError, "recovery: OnPanic handler panicked",
				slog.Any("panic", p), slog.String("stack", string(inner.Stack)))
		}
	}()
	h(pe)
}
