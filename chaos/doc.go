// Package chaos injects faults on purpose: it makes a chosen share of calls
// fail, wait, panic or return a chosen result, so that tests, demos and
// game days can check how the rest of a system copes, in the manner of
// Polly's chaos strategies and Envoy's fault filter.
//
// Use it to prove that a breaker opens, a retry recovers, a fallback serves
// and a timeout fires: in tests, or switched on at run time in a staging
// environment. An [Injector] is a [bulwark.Policy]; put it innermost in a chain, where
// the dependency would be:
//
//	inj, err := chaos.New(chaos.Config{
//		Name: "payments",
//		Faults: []chaos.Fault{
//			chaos.Latency(0.2, 300*time.Millisecond), // 20% of calls wait 300 ms
//			chaos.Error(0.05, ErrUnavailable),        // 5% fail
//		},
//		Seed:    42,
//		Enabled: true,
//	})
//	...
//	p := bulwark.Chain(retryPolicy, breakerPolicy, inj)
//	resp, err := bulwark.Get(ctx, p, callPayments)
//
// # Faults
//
// [Error], [Latency], [Panic] and [Result] build the four kinds of [Fault].
// The faults of an injector are tried in order on each call, each hitting
// its share of calls independently. A latency fault delays the call and
// lets the next faults have their turn; the first error, panic or result
// fault that hits ends the call without running the operation. So
// Latency(0.5, d) followed by Error(0.1, err) delays half the calls and
// fails a tenth, some of them after a delay. New refuses a rate outside
// [0, 1], an unknown kind, or a latency fault without a positive Latency.
//
// An injected delay honours the context: a call whose context ends during
// the delay returns the context's error. It runs on Config.Clock when set,
// so a clocktest.Clock (or a simulation's virtual clock) ends it when the
// clock moves, not after real time.
//
// # Switching at run time
//
// An injector starts disabled unless Config.Enabled is set, and does nothing
// but count calls while disabled (no allocation), so an injector left in a
// production chain does nothing until asked. [Injector.Enable], [Injector.Disable] and
// [Injector.SetRate] change it while calls run, from an admin endpoint or a
// feature flag.
//
// # Reproducible runs
//
// The draws that pick the calls to hit come from a generator seeded with
// Config.Seed. Calls made one after another with the same seed and the same
// faults are hit the same way on every run; concurrent calls take their
// draws in whatever order they arrive. With a zero seed a random one is
// chosen and reported by [Injector.Snapshot], so a run can be replayed.
//
// # Observing
//
// [Injector.Snapshot] counts calls and injected faults of each kind.
// Config.Observer hears injected errors as KindRejected, injected delays as
// KindWait, and Enable/Disable as KindStateChange.
package chaos
