package chaos

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// Config configures an [Injector]. The zero value is valid and does nothing:
// no faults, and switched off.
type Config struct {
	// Name identifies the injector in events and snapshots.
	Name string

	// Faults are tried in order on every call while the injector is
	// enabled. Each fault hits its share of calls, drawn independently. A
	// latency fault that hits delays the call and the next faults are
	// tried; an error, panic or result fault that hits ends the call there,
	// without running the operation. A call no ending fault hits runs the
	// operation.
	Faults []Fault

	// Seed seeds the random draws that decide which calls a fault hits.
	// With the same Seed, the same faults and the same sequence of calls
	// made one after another, the same calls are hit. Zero means a random
	// seed; Snapshot reports the seed in use, so a run can be replayed.
	Seed int64

	// Enabled switches the injector on from the start. The default (false)
	// leaves it off until [Injector.Enable], so an injector left in a chain
	// does nothing until asked.
	Enabled bool

	// Clock, if set, is the clock that latency faults wait on: a
	// clocktest.Clock ends an injected delay when the test moves the clock.
	// Nil means the real clock (the fake one inside a testing/synctest
	// bubble).
	Clock bulwark.Clock

	// Observer receives, while the injector is enabled, KindRejected (Err
	// set) for every call an error fault fails, KindWait (Delay set) for
	// every delay a latency fault injects, and KindStateChange (From/To
	// "disabled"/"enabled") when Enable or Disable switches the injector.
	// Panic and result faults are not reported; Snapshot counts them. Nil
	// means no reporting.
	Observer bulwark.Observer
}

// Injector is a [bulwark.Policy] that makes a share of calls fail, wait,
// panic or return a chosen result, to test how the rest of a system copes.
// It is safe for concurrent use; its faults' rates and its on/off switch can
// be changed while calls run.
type Injector struct {
	name     string
	seed     int64
	faults   []fault
	observer bulwark.Observer
	clk      bulwark.Clock // nil: the real clock
	enabled  atomic.Bool

	randMu sync.Mutex
	rand   *rand.Rand

	calls    atomic.Uint64
	injected [KindResult + 1]atomic.Uint64
}

// fault is a Fault whose rate can change at run time.
type fault struct {
	Fault
	rate atomic.Uint64 // math.Float64bits of the rate
}

// New returns an Injector, or an error naming the first invalid field.
func New(c Config) (*Injector, error) {
	in := &Injector{name: c.Name, seed: c.Seed, observer: c.Observer, clk: c.Clock, faults: make([]fault, len(c.Faults))}
	for i, f := range c.Faults {
		if err := f.validate(i); err != nil {
			return nil, err
		}
		if f.Err == nil {
			f.Err = ErrInjected
		}
		if f.PanicValue == nil {
			f.PanicValue = ErrInjected
		}
		in.faults[i].Fault = f
		in.faults[i].rate.Store(math.Float64bits(f.Rate))
	}
	if in.seed == 0 {
		for in.seed == 0 {
			in.seed = rand.Int64()
		}
	}
	in.rand = rand.New(rand.NewPCG(uint64(in.seed), 0x9e3779b97f4a7c15))
	in.enabled.Store(c.Enabled)
	return in, nil
}

// Name returns Config.Name.
func (in *Injector) Name() string { return in.name }

// Enable switches fault injection on.
func (in *Injector) Enable() { in.set(true) }

// Disable switches fault injection off: calls run as if the injector were
// not there. Calls already waiting in an injected delay finish their wait.
func (in *Injector) Disable() { in.set(false) }

// Enabled reports whether fault injection is on.
func (in *Injector) Enabled() bool { return in.enabled.Load() }

func (in *Injector) set(on bool) {
	if !in.enabled.CompareAndSwap(!on, on) || in.observer == nil {
		return
	}
	from, to := "disabled", "enabled"
	if !on {
		from, to = to, from
	}
	in.observer.Observe(bulwark.Event{Kind: bulwark.KindStateChange, Policy: "chaos", Name: in.name, From: from, To: to})
}

// SetRate sets the rate of every fault of kind k to rate. It returns an
// error, and changes nothing, if rate is not between 0 and 1 or if no fault
// of kind k was configured.
func (in *Injector) SetRate(k Kind, rate float64) error {
	if !validRate(rate) {
		return fmt.Errorf("chaos: SetRate: rate must be between 0 and 1 (got %v)", rate)
	}
	found := false
	for i := range in.faults {
		if in.faults[i].Kind == k {
			in.faults[i].rate.Store(math.Float64bits(rate))
			found = true
		}
	}
	if !found {
		return fmt.Errorf("chaos: SetRate: no %v fault is configured", k)
	}
	return nil
}

// Execute runs op, unless a fault hits the call first. While the injector
// is disabled it runs op and nothing else.
//
// An injected delay honours ctx: if ctx ends during it, Execute returns
// ctx.Err() without running op. An error fault returns its Err, a result
// fault its Result with a nil error, and a panic fault panics with its
// PanicValue, on the calling goroutine.
func (in *Injector) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	in.calls.Add(1)
	if !in.enabled.Load() {
		return op.Call(ctx)
	}
	for i := range in.faults {
		f := &in.faults[i]
		if !in.hit(math.Float64frombits(f.rate.Load())) {
			continue
		}
		in.injected[f.Kind].Add(1)
		switch f.Kind {
		case KindLatency:
			if in.observer != nil {
				in.observer.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "chaos", Name: in.name, Delay: f.Latency})
			}
			if err := clock.Sleep(ctx, in.clk, f.Latency); err != nil {
				return nil, err
			}
		case KindError:
			if in.observer != nil {
				in.observer.Observe(bulwark.Event{Kind: bulwark.KindRejected, Policy: "chaos", Name: in.name, Err: f.Err})
			}
			return nil, f.Err
		case KindPanic:
			panic(f.PanicValue)
		case KindResult:
			return f.Result, nil
		}
	}
	return op.Call(ctx)
}

// hit draws whether a fault of the given rate hits this call. Rates of 0
// and 1 need no draw.
func (in *Injector) hit(rate float64) bool {
	switch {
	case rate <= 0:
		return false
	case rate >= 1:
		return true
	}
	in.randMu.Lock()
	x := in.rand.Float64()
	in.randMu.Unlock()
	return x < rate
}

// Snapshot holds an [Injector]'s live figures, counted since it was made.
type Snapshot struct {
	Enabled   bool   // whether injection is on now
	Seed      int64  // the seed in use (Config.Seed, or the random one chosen)
	Calls     uint64 // calls to Execute, enabled or not
	Errors    uint64 // calls failed by an error fault
	Latencies uint64 // delays injected by latency faults
	Panics    uint64 // calls made to panic
	Results   uint64 // calls answered by a result fault
}

// Injected returns the number of faults injected, of every kind.
func (s Snapshot) Injected() uint64 { return s.Errors + s.Latencies + s.Panics + s.Results }

// Snapshot returns the injector's figures.
func (in *Injector) Snapshot() Snapshot {
	return Snapshot{
		Enabled:   in.enabled.Load(),
		Seed:      in.seed,
		Calls:     in.calls.Load(),
		Errors:    in.injected[KindError].Load(),
		Latencies: in.injected[KindLatency].Load(),
		Panics:    in.injected[KindPanic].Load(),
		Results:   in.injected[KindResult].Load(),
	}
}

// Synchronous reports true: the policy calls its Operation only before
// Execute returns, so a [bulwark.Chain] of such policies reuses its
// per-call state. See [bulwark.Synchronous].
func (in *Injector) Synchronous() bool { return true }
