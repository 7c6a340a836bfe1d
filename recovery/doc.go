// Package recovery keeps a panic from taking the whole process down, and
// reports the panics that still do.
//
// In Go a panic that no deferred function recovers ends the process, and
// recover only works on the goroutine that panicked: one forgotten goroutine
// in a server is enough. This package gives every way of running code a
// recovering variant that turns the panic into a *[PanicError] (the value
// and the stack) and reports it:
//
//	err := recovery.Do(func() error { return parse(input) })     // synchronous
//	v, err := recovery.Call(func() (T, error) { ... })            // with a result
//	t := recovery.Go(func() error { return work() }); t.Wait()   // a goroutine
//	g, ctx := recovery.WithContext(ctx); g.Go(...); g.Wait()     // a group, like errgroup
//	http.ListenAndServe(addr, recovery.Middleware(mux, nil))     // HTTP handlers
//	p, _ := recovery.New(recovery.Config{Name: "db"})            // a bulwark.Policy
//
// Use it around code you do not fully trust (plugins, parsers, third-party
// callbacks), for every goroutine a server starts, as the outermost HTTP
// middleware, and StartCrashMonitor in every main. As a policy, put it
// innermost in a chain, so that retry, breaker and fallback see an ordinary
// error (errors.Is(err, ErrPanic)).
//
// # Which tool to use when
//
//	a call may panic and the caller should get an error     Do, Call, or New in a chain
//	a goroutine may panic and kill the process              Go (one task), Group (many, errgroup-style)
//	an HTTP handler may panic                               Middleware(mux, nil), outermost
//	to know about every recovered panic (alert, metric)     SetHandler, or an Observer
//	a panic or fatal error nobody can recover               StartCrashMonitor in main
//	code locks several mutexes at once                      lockorder.LockAll, lockorder.Lock
//	a lock wait must not last forever                       lockorder.Mutex.LockContext, TryLockFor
//	lock-order inversions and long waits, before deadlock   lockorder.EnableChecker, -tags lockorder_check
//
// # Reporting
//
// Every recovered panic is logged at error level with its stack (to
// slog.Default() unless a Logger is set), sent to a [bulwark.Observer] as a
// [bulwark.KindPanic] event, and passed to a handler. A [Reporter] holds the
// three; the package default is changed with [SetDefault] and [SetHandler],
// and a policy's [Config] or a Group's Reporter field overrides it field by
// field; nil fields fall back to the default's, then to slog.Default(). A
// panic inside a handler is logged, never propagated.
//
// # Panics nobody recovers
//
// [StartCrashMonitor], called first thing in main, starts the program again
// as a small monitor process and points runtime/debug.SetCrashOutput at it.
// When the program dies of a panic or a fatal runtime error, the monitor
// writes a report file (time, message, every goroutine's stack) and runs a
// command, for example to page someone. A program that exits normally leaves
// no report.
//
// In production, call it first in main, point MonitorConfig.Dir at
// persistent storage your log shipper collects, and make Command page or
// upload. For fatal runtime errors other than panics, the runtime prints
// its one-line message only to standard error; the report still has every
// stack and names the failing function.
//
// # In tests
//
// go test already prints a panic in a test binary. Make the code under test
// start its goroutines with [Go] or a [Group], so that a panic fails the
// test as an error instead of killing the binary, and count recovered
// panics in TestMain with [SetHandler] to fail a run that recovered any. To
// test the crash path itself, build a small main that calls
// StartCrashMonitor and panics, run it, and read the report (this package's
// testdata/crasher and crash_test.go do that).
//
// # What it cannot catch
//
// A panic in a goroutine started by the recovered code itself (unless that
// goroutine is started with [Go] or a [Group]); fatal runtime errors such as
// concurrent map writes, stack overflow or running out of memory, which no
// recover can stop (the crash monitor reports them); and runtime.Goexit,
// which is let through by Do and the policy and becomes [ErrGoexit] in Go
// and Group.
package recovery
