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
// # Reporting
//
// Every recovered panic is logged at error level with its stack (to
// slog.Default() unless a Logger is set), sent to a [bulwark.Observer] as a
// [bulwark.KindPanic] event, and passed to a handler. A [Reporter] holds the
// three; the package default is changed with [SetDefault] and [SetHandler],
// and a policy's [Config] or a Group's Reporter field overrides it field by
// field.
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
// # What it cannot catch
//
// A panic in a goroutine started by the recovered code itself (unless that
// goroutine is started with [Go] or a [Group]); fatal runtime errors such as
// concurrent map writes, stack overflow or running out of memory, which no
// recover can stop (the crash monitor reports them); and runtime.Goexit,
// which is let through by Do and the policy and becomes [ErrGoexit] in Go
// and Group.
package recovery
