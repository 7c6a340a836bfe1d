package chaos

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

var errBoom = errors.New("boom")

// ok is an operation that counts its runs and returns "ok".
type ok struct{ runs atomic.Int64 }

func (o *ok) Call(context.Context) (any, error) {
	o.runs.Add(1)
	return "ok", nil
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		faults []Fault
		want   string
	}{
		{"negative rate", []Fault{Error(-0.1, nil)}, "Faults[0].Rate"},
		{"rate above one", []Fault{Error(0.1, nil), Error(1.5, nil)}, "Faults[1].Rate"},
		{"NaN rate", []Fault{Result(math.NaN(), 1)}, "Faults[0].Rate"},
		{"unknown kind", []Fault{{Kind: 9, Rate: 0.1}}, "Faults[0].Kind"},
		{"zero kind", []Fault{{Rate: 0.1}}, "Faults[0].Kind"},
		{"latency without duration", []Fault{Latency(0.5, 0)}, "Faults[0].Latency"},
		{"negative latency", []Fault{Latency(0.5, -time.Second)}, "Faults[0].Latency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := New(Config{Faults: tt.faults})
			if err == nil || in != nil {
				t.Fatalf("New = %v, %v; want an error", in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestZeroConfigDoesNothing(t *testing.T) {
	in, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	op := &ok{}
	for range 10 {
		if v, err := in.Execute(context.Background(), op); v != "ok" || err != nil {
			t.Fatalf("Execute = %v, %v", v, err)
		}
	}
	in.Enable()
	if v, err := in.Execute(context.Background(), op); v != "ok" || err != nil {
		t.Fatalf("enabled with no faults: Execute = %v, %v", v, err)
	}
	s := in.Snapshot()
	if s.Calls != 11 || s.Injected() != 0 || !s.Enabled || s.Seed == 0 {
		t.Errorf("Snapshot = %+v", s)
	}
}

func TestDisabledInjectsNothing(t *testing.T) {
	in, _ := New(Config{Faults: []Fault{Error(1, errBoom), Panic(1, "p")}})
	op := &ok{}
	for range 100 {
		if _, err := in.Execute(context.Background(), op); err != nil {
			t.Fatal(err)
		}
	}
	if got := op.runs.Load(); got != 100 {
		t.Errorf("op ran %d times, want 100", got)
	}
	if s := in.Snapshot(); s.Injected() != 0 || s.Calls != 100 || s.Enabled {
		t.Errorf("Snapshot = %+v", s)
	}
}

func TestEachKindAtFullRate(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		wantV   any
		wantErr error
		panics  any
		runs    int64
		counted func(Snapshot) uint64
	}{
		{"error", Error(1, errBoom), nil, errBoom, nil, 0, func(s Snapshot) uint64 { return s.Errors }},
		{"default error", Error(1, nil), nil, ErrInjected, nil, 0, func(s Snapshot) uint64 { return s.Errors }},
		{"result", Result(1, "chosen"), "chosen", nil, nil, 0, func(s Snapshot) uint64 { return s.Results }},
		{"nil result", Result(1, nil), nil, nil, nil, 0, func(s Snapshot) uint64 { return s.Results }},
		{"panic", Panic(1, "kaboom"), nil, nil, "kaboom", 0, func(s Snapshot) uint64 { return s.Panics }},
		{"default panic", Panic(1, nil), nil, nil, ErrInjected, 0, func(s Snapshot) uint64 { return s.Panics }},
		{"rate zero", Error(0, errBoom), "ok", nil, nil, 1, func(s Snapshot) uint64 { return s.Injected() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := New(Config{Faults: []Fault{tt.fault}, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			op := &ok{}
			var v any
			var gotPanic any
			func() {
				defer func() { gotPanic = recover() }()
				v, err = in.Execute(context.Background(), op)
			}()
			if gotPanic != tt.panics {
				t.Fatalf("panic = %v, want %v", gotPanic, tt.panics)
			}
			if v != tt.wantV || err != tt.wantErr {
				t.Errorf("Execute = %v, %v; want %v, %v", v, err, tt.wantV, tt.wantErr)
			}
			if got := op.runs.Load(); got != tt.runs {
				t.Errorf("op ran %d times, want %d", got, tt.runs)
			}
			want := uint64(1)
			if tt.runs == 1 {
				want = 0
			}
			if got := tt.counted(in.Snapshot()); got != want {
				t.Errorf("counted %d injections, want %d", got, want)
			}
		})
	}
}

func TestLatencyDelaysThenRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, _ := New(Config{Faults: []Fault{Latency(1, 250*time.Millisecond)}, Enabled: true})
		op := &ok{}
		start := time.Now()
		v, err := in.Execute(context.Background(), op)
		if v != "ok" || err != nil {
			t.Fatalf("Execute = %v, %v", v, err)
		}
		if got := time.Since(start); got != 250*time.Millisecond {
			t.Errorf("took %v, want 250ms", got)
		}
		if s := in.Snapshot(); s.Latencies != 1 || op.runs.Load() != 1 {
			t.Errorf("Snapshot = %+v, runs %d", s, op.runs.Load())
		}
	})
}

func TestLatencyHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, _ := New(Config{Faults: []Fault{Latency(1, time.Hour)}, Enabled: true})
		op := &ok{}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		v, err := in.Execute(ctx, op)
		if v != nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Execute = %v, %v; want the context's error", v, err)
		}
		if !bulwark.CallerDone(ctx, err) {
			t.Error("CallerDone(ctx, err) = false; the error must be the caller's own")
		}
		if got := time.Since(start); got != 50*time.Millisecond {
			t.Errorf("returned after %v, want 50ms", got)
		}
		if op.runs.Load() != 0 {
			t.Error("op ran after the context ended")
		}

		ctx, cancel = context.WithCancel(context.Background())
		go func() {
			time.Sleep(10 * time.Millisecond)
			cancel()
		}()
		if _, err := in.Execute(ctx, op); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled during the delay: err = %v", err)
		}
	})
}

func TestLatencyThenError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, _ := New(Config{Faults: []Fault{Latency(1, time.Second), Error(1, errBoom), Result(1, "never")}, Enabled: true})
		start := time.Now()
		_, err := in.Execute(context.Background(), &ok{})
		if err != errBoom || time.Since(start) != time.Second {
			t.Errorf("err = %v after %v; want boom after 1s", err, time.Since(start))
		}
		if s := in.Snapshot(); s.Latencies != 1 || s.Errors != 1 || s.Results != 0 {
			t.Errorf("Snapshot = %+v", s)
		}
	})
}

// pattern runs n serial calls and records which failed.
func pattern(t *testing.T, in *Injector, n int) []bool {
	t.Helper()
	out := make([]bool, n)
	for i := range out {
		_, err := in.Execute(context.Background(), &ok{})
		out[i] = err != nil
	}
	return out
}

func TestSeedReproducesDecisions(t *testing.T) {
	mk := func(seed int64) *Injector {
		in, err := New(Config{Faults: []Fault{Error(0.3, errBoom), Error(0.5, errBoom)}, Seed: seed, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a, b, c := pattern(t, mk(42), 2000), pattern(t, mk(42), 2000), pattern(t, mk(43), 2000)
	same, hits := 0, 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d: seed 42 gave %v then %v", i, a[i], b[i])
		}
		if a[i] == c[i] {
			same++
		}
		if a[i] {
			hits++
		}
	}
	if same == len(a) {
		t.Error("seeds 42 and 43 gave the same decisions")
	}
	// 1 - 0.7*0.5 = 0.65 of calls fail.
	if got := float64(hits) / float64(len(a)); got < 0.61 || got > 0.69 {
		t.Errorf("failure share %.3f, want about 0.65", got)
	}

	// A random seed is reported and replays the run.
	r := mk(0)
	seed := r.Snapshot().Seed
	if seed == 0 {
		t.Fatal("Snapshot().Seed = 0 for a random seed")
	}
	x, y := pattern(t, r, 500), pattern(t, mk(seed), 500)
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("replaying seed %d: call %d differs", seed, i)
		}
	}
}

func TestRatesAreHonoured(t *testing.T) {
	for _, rate := range []float64{0.01, 0.1, 0.5, 0.9} {
		in, _ := New(Config{Faults: []Fault{Error(rate, errBoom)}, Seed: 1, Enabled: true})
		const n = 20000
		hits := 0
		for _, f := range pattern(t, in, n) {
			if f {
				hits++
			}
		}
		got := float64(hits) / n
		if d := math.Abs(got - rate); d > 0.01 {
			t.Errorf("rate %v: hit %.4f of calls", rate, got)
		}
	}
}

func TestSetRate(t *testing.T) {
	in, _ := New(Config{Faults: []Fault{Error(0, errBoom), Error(0, errBoom), Latency(0, time.Second)}, Enabled: true})
	tests := []struct {
		kind Kind
		rate float64
		want string // error substring; "" for success
	}{
		{KindError, -1, "between 0 and 1"},
		{KindError, 2, "between 0 and 1"},
		{KindError, math.NaN(), "between 0 and 1"},
		{KindPanic, 0.5, "no panic fault"},
		{KindError, 1, ""},
	}
	for _, tt := range tests {
		err := in.SetRate(tt.kind, tt.rate)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("SetRate(%v, %v) = %v", tt.kind, tt.rate, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("SetRate(%v, %v) = %v, want an error containing %q", tt.kind, tt.rate, err, tt.want)
		}
	}
	// Both error faults are now at 1; the first ends the call.
	if _, err := in.Execute(context.Background(), &ok{}); err != errBoom {
		t.Fatalf("after SetRate(KindError, 1): err = %v", err)
	}
	if s := in.Snapshot(); s.Errors != 1 || s.Latencies != 0 {
		t.Errorf("Snapshot = %+v", s)
	}
	if err := in.SetRate(KindError, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Execute(context.Background(), &ok{}); err != nil {
		t.Errorf("after SetRate(KindError, 0): err = %v", err)
	}
}

func TestObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		in, _ := New(Config{Name: "db", Faults: []Fault{Latency(1, time.Second), Error(1, errBoom)}, Observer: rec})
		in.Execute(context.Background(), &ok{}) // disabled: nothing
		in.Enable()
		in.Enable() // already on: nothing
		in.Execute(context.Background(), &ok{})
		in.Disable()
		got := rec.Events()
		want := []bulwark.Event{
			{Kind: bulwark.KindStateChange, From: "disabled", To: "enabled"},
			{Kind: bulwark.KindWait, Delay: time.Second},
			{Kind: bulwark.KindRejected, Err: errBoom},
			{Kind: bulwark.KindStateChange, From: "enabled", To: "disabled"},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d events %+v, want %d", len(got), got, len(want))
		}
		for i, w := range want {
			w.Policy, w.Name = "chaos", "db"
			g := got[i]
			if g.Kind != w.Kind || g.Policy != w.Policy || g.Name != w.Name || g.From != w.From || g.To != w.To ||
				g.Delay != w.Delay || g.Err != w.Err {
				t.Errorf("event %d = %+v, want %+v", i, g, w)
			}
		}
	})
}

// TestConcurrentUse runs calls while rates and the switch change; run with
// -race. Every call either ran the operation or was failed by the fault.
func TestConcurrentUse(t *testing.T) {
	in, _ := New(Config{Faults: []Fault{Error(0.5, errBoom)}, Seed: 3, Enabled: true})
	op := &ok{}
	var failed atomic.Uint64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				if _, err := in.Execute(context.Background(), op); err != nil {
					failed.Add(1)
				}
				if g == 0 && i%50 == 0 {
					in.SetRate(KindError, float64(i%100)/100)
					in.Disable()
					in.Enable()
				}
			}
		})
	}
	wg.Wait()
	s := in.Snapshot()
	if s.Calls != 4000 || s.Errors != failed.Load() || uint64(op.runs.Load())+s.Errors != s.Calls {
		t.Errorf("Snapshot = %+v; failed %d, runs %d", s, failed.Load(), op.runs.Load())
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindError: "error", KindLatency: "latency", KindPanic: "panic",
		KindResult: "result", 0: "Kind(0)", 7: "Kind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

func BenchmarkExecuteDisabled(b *testing.B) {
	in, _ := New(Config{Faults: []Fault{Error(0.5, errBoom)}})
	op := &ok{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in.Execute(ctx, op)
	}
}

func BenchmarkExecuteEnabled(b *testing.B) {
	in, _ := New(Config{Faults: []Fault{Error(0.5, errBoom)}, Enabled: true})
	op := &ok{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in.Execute(ctx, op)
	}
}
