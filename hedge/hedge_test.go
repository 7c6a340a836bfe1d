package hedge

import (
	"context"
	"errors"
	"fmt"
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

var (
	errA = errors.New("a failed")
	errB = errors.New("b failed")
)

// step is what one attempt of a scripted operation does: wait took (or
// until its context ends), then return v, err.
type step struct {
	took time.Duration
	v    any
	err  error
}

// script is an operation whose n-th attempt follows steps[n-1]. It records
// when each attempt started and whether its context was cancelled.
type script struct {
	steps []step
	n     atomic.Int32

	mu        sync.Mutex
	starts    []time.Duration // since t0
	cancelled []bool
	t0        time.Time
}

func newScript(steps ...step) *script { return &script{steps: steps, t0: time.Now()} }

func (s *script) Call(ctx context.Context) (any, error) {
	i := int(s.n.Add(1)) - 1
	s.mu.Lock()
	s.starts = append(s.starts, time.Since(s.t0))
	s.cancelled = append(s.cancelled, false)
	s.mu.Unlock()
	st := s.steps[i]
	t := time.NewTimer(st.took)
	defer t.Stop()
	select {
	case <-t.C:
		return st.v, st.err
	case <-ctx.Done():
		s.mu.Lock()
		s.cancelled[i] = true
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

// describe renders the events as "kind:attempt[@delay]", and flags any
// event that does not name the policy "hedge" called "h".
func describe(events []bulwark.Event) string {
	var b strings.Builder
	for _, e := range events {
		if e.Policy != "hedge" || e.Name != "h" {
			fmt.Fprintf(&b, "bad policy/name %q/%q ", e.Policy, e.Name)
		}
		fmt.Fprintf(&b, "%v:%d", e.Kind, e.Attempt)
		if e.Delay > 0 {
			fmt.Fprintf(&b, "@%v", e.Delay)
		}
		b.WriteString(" ")
	}
	return strings.TrimSpace(b.String())
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"no delay", Config{}, "Config.Delay"},
		{"negative delay", Config{Delay: -time.Second}, "Config.Delay"},
		{"percentile above one", Config{Delay: 1, Percentile: 1.5}, "Config.Percentile"},
		{"negative percentile", Config{Delay: 1, Percentile: -0.5}, "Config.Percentile"},
		{"window without percentile", Config{Delay: 1, Window: 10}, "Config.Window"},
		{"min samples without percentile", Config{Delay: 1, MinSamples: 10}, "Config.MinSamples"},
		{"min delay without percentile", Config{Delay: 1, MinDelay: 10}, "Config.MinDelay"},
		{"negative window", Config{Delay: 1, Percentile: 0.9, Window: -1}, "Config.Window"},
		{"negative min samples", Config{Delay: 1, Percentile: 0.9, MinSamples: -1}, "Config.MinSamples"},
		{"min samples above window", Config{Delay: 1, Percentile: 0.9, Window: 10, MinSamples: 11}, "Config.MinSamples"},
		{"negative min delay", Config{Delay: 1, Percentile: 0.9, MinDelay: -1}, "Config.MinDelay"},
		{"negative max hedges", Config{Delay: 1, MaxHedges: -1}, "Config.MaxHedges"},
		{"negative budget", Config{Delay: 1, Budget: -0.1}, "Config.Budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.c)
			if err == nil || h != nil {
				t.Fatalf("New = %v, %v; want an error", h, err)
			}
			if !strings.HasPrefix(err.Error(), "hedge: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

// TestScenarios runs one call per case in virtual time and checks the
// result, when it came, which attempts started when, which were cancelled,
// and what was reported.
func TestScenarios(t *testing.T) {
	const d = 10 * time.Millisecond
	errNotFound := errors.New("not found")
	tests := []struct {
		name          string
		c             Config
		steps         []step
		wantV         any
		wantErr       error
		wantAt        time.Duration
		wantStarts    []time.Duration
		wantCancelled []bool
		wantEvents    string
	}{
		{
			name:  "fast first attempt: no hedge",
			c:     Config{Delay: d},
			steps: []step{{5 * time.Millisecond, "one", nil}},
			wantV: "one", wantAt: 5 * time.Millisecond,
			wantStarts: []time.Duration{0}, wantCancelled: []bool{false},
		},
		{
			name:  "slow first attempt: the hedge wins, the first is cancelled",
			c:     Config{Delay: d},
			steps: []step{{time.Hour, "one", nil}, {5 * time.Millisecond, "two", nil}},
			wantV: "two", wantAt: 15 * time.Millisecond,
			wantStarts: []time.Duration{0, d}, wantCancelled: []bool{true, false},
			wantEvents: "hedge:2@10ms hedge_won:2",
		},
		{
			name:  "the first attempt can still win after the hedge started",
			c:     Config{Delay: d},
			steps: []step{{12 * time.Millisecond, "one", nil}, {time.Hour, "two", nil}},
			wantV: "one", wantAt: 12 * time.Millisecond,
			wantStarts: []time.Duration{0, d}, wantCancelled: []bool{false, true},
			wantEvents: "hedge:2@10ms",
		},
		{
			name:  "a failure does not win while another attempt runs",
			c:     Config{Delay: d},
			steps: []step{{12 * time.Millisecond, nil, errA}, {20 * time.Millisecond, "two", nil}},
			wantV: "two", wantAt: 30 * time.Millisecond,
			wantStarts: []time.Duration{0, d}, wantCancelled: []bool{false, false},
			wantEvents: "hedge:2@10ms hedge_won:2",
		},
		{
			name:  "all attempts fail: the last failure is returned",
			c:     Config{Delay: d},
			steps: []step{{25 * time.Millisecond, "v1", errA}, {5 * time.Millisecond, "v2", errB}},
			wantV: "v1", wantErr: errA, wantAt: 25 * time.Millisecond,
			wantStarts: []time.Duration{0, d}, wantCancelled: []bool{false, false},
			wantEvents: "hedge:2@10ms",
		},
		{
			name:    "an early failure is returned when nothing else runs",
			c:       Config{Delay: d},
			steps:   []step{{3 * time.Millisecond, nil, errA}},
			wantErr: errA, wantAt: 3 * time.Millisecond,
			wantStarts: []time.Duration{0}, wantCancelled: []bool{false},
		},
		{
			name:  "IsHedgeable starts the next attempt at once after an early failure",
			c:     Config{Delay: d, IsHedgeable: func(err error) bool { return err == errA }},
			steps: []step{{3 * time.Millisecond, nil, errA}, {4 * time.Millisecond, "two", nil}},
			wantV: "two", wantAt: 7 * time.Millisecond,
			wantStarts: []time.Duration{0, 3 * time.Millisecond}, wantCancelled: []bool{false, false},
			wantEvents: "hedge:2 hedge_won:2",
		},
		{
			name:    "IsHedgeable saying no returns the failure",
			c:       Config{Delay: d, IsHedgeable: func(err error) bool { return err == errA }},
			steps:   []step{{3 * time.Millisecond, nil, errB}},
			wantErr: errB, wantAt: 3 * time.Millisecond,
			wantStarts: []time.Duration{0}, wantCancelled: []bool{false},
		},
		{
			name:    "IsSuccess lets an error win while another attempt runs",
			c:       Config{Delay: d, IsSuccess: func(err error) bool { return err == nil || err == errNotFound }},
			steps:   []step{{time.Hour, "one", nil}, {5 * time.Millisecond, nil, errNotFound}},
			wantErr: errNotFound, wantAt: 15 * time.Millisecond,
			wantStarts: []time.Duration{0, d}, wantCancelled: []bool{true, false},
			wantEvents: "hedge:2@10ms hedge_won:2",
		},
		{
			name: "MaxHedges 3: one attempt per delay, the third wins",
			c:    Config{Delay: d, MaxHedges: 3},
			steps: []step{{time.Hour, "one", nil}, {time.Hour, "two", nil},
				{1 * time.Millisecond, "three", nil}, {time.Hour, "four", nil}},
			wantV: "three", wantAt: 21 * time.Millisecond,
			wantStarts: []time.Duration{0, d, 2 * d}, wantCancelled: []bool{true, true, false},
			wantEvents: "hedge:2@10ms hedge:3@10ms hedge_won:3",
		},
		{
			name: "MaxHedges 2: no third hedge; the last failure is returned",
			c:    Config{Delay: d, MaxHedges: 2},
			steps: []step{{100 * time.Millisecond, nil, errA}, {100 * time.Millisecond, nil, errA},
				{100 * time.Millisecond, nil, errB}},
			wantErr: errB, wantAt: 120 * time.Millisecond,
			wantStarts: []time.Duration{0, d, 2 * d}, wantCancelled: []bool{false, false, false},
			wantEvents: "hedge:2@10ms hedge:3@10ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &eventlog.Recorder{}
				tt.c.Name, tt.c.Observer = "h", rec
				h, err := New(tt.c)
				if err != nil {
					t.Fatal(err)
				}
				op := newScript(tt.steps...)
				v, err := h.Execute(context.Background(), op)
				at := time.Since(op.t0)
				synctest.Wait() // let the cancelled attempts record it
				if v != tt.wantV || err != tt.wantErr {
					t.Errorf("Execute = %v, %v; want %v, %v", v, err, tt.wantV, tt.wantErr)
				}
				if at != tt.wantAt {
					t.Errorf("returned after %v, want %v", at, tt.wantAt)
				}
				op.mu.Lock()
				if fmt.Sprint(op.starts) != fmt.Sprint(tt.wantStarts) {
					t.Errorf("attempts started at %v, want %v", op.starts, tt.wantStarts)
				}
				if fmt.Sprint(op.cancelled) != fmt.Sprint(tt.wantCancelled) {
					t.Errorf("cancelled = %v, want %v", op.cancelled, tt.wantCancelled)
				}
				op.mu.Unlock()
				if got := describe(rec.Events()); got != tt.wantEvents {
					t.Errorf("events %q, want %q", got, tt.wantEvents)
				}
				s := h.Snapshot()
				if s.Calls != 1 || s.Hedges != uint64(len(tt.wantStarts)-1) {
					t.Errorf("Snapshot = %+v", s)
				}
			})
		})
	}
}

// TestCallerCancellation: Execute returns as soon as the caller's context
// ends, even if an attempt ignores its context; attempts that honour it end.
func TestCallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _ := New(Config{Delay: 10 * time.Millisecond})
		var stubborn atomic.Bool
		op := bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			if stubborn.CompareAndSwap(false, true) {
				time.Sleep(time.Hour) // ignores ctx
				return "late", nil
			}
			<-ctx.Done()
			return nil, ctx.Err()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
		defer cancel()
		start := time.Now()
		v, err := h.Execute(ctx, op)
		if v != nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Execute = %v, %v; want the context's error", v, err)
		}
		if got := time.Since(start); got != 25*time.Millisecond {
			t.Errorf("returned after %v, want 25ms", got)
		}
		// The stubborn attempt finishes its hour later; its result goes
		// into the buffered channel and is dropped, and it ends.
		time.Sleep(time.Hour)
		synctest.Wait()
		if !stubborn.Load() {
			t.Error("the first attempt never ran")
		}
	})
}

func TestPanicIsRaisedOnTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _ := New(Config{Delay: 10 * time.Millisecond})
		var n atomic.Int32
		op := bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			if n.Add(1) == 1 {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			panic("hedge exploded")
		})
		defer func() {
			if p := recover(); p != "hedge exploded" {
				t.Errorf("recovered %v, want the attempt's panic value", p)
			}
		}()
		h.Execute(context.Background(), op)
		t.Error("Execute returned")
	})
}

func TestBudgetCapsHedges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		h, _ := New(Config{Name: "h", Delay: time.Millisecond, Budget: 0.1, Observer: rec})
		// Every call's first attempt is slow, so every call wants to hedge.
		slow := bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			t := time.NewTimer(5 * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				return "ok", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
		const calls = 1000
		for range calls {
			if _, err := h.Execute(context.Background(), slow); err != nil {
				t.Fatal(err)
			}
		}
		s := h.Snapshot()
		// Starts full (10), then 0.1 per call: 10 + 100 hedges at most.
		if s.Hedges > 110 || s.Hedges < 100 {
			t.Errorf("%d hedges for %d calls; want 100..110", s.Hedges, calls)
		}
		if s.Hedges+s.BudgetRefusals != calls {
			t.Errorf("hedges %d + refusals %d != calls %d", s.Hedges, s.BudgetRefusals, calls)
		}
		refusals := rec.Of(bulwark.KindBudgetExhausted)
		for _, e := range refusals {
			if e.Attempt != 2 {
				t.Errorf("refusal event for attempt %d, want 2", e.Attempt)
			}
		}
		if uint64(len(refusals)) != s.BudgetRefusals {
			t.Errorf("%d refusal events, Snapshot says %d", len(refusals), s.BudgetRefusals)
		}
	})
}

func TestBudget(t *testing.T) {
	b := newBudget(0.25, 1)
	for range 10 { // starts full
		if !b.withdraw() {
			t.Fatal("a new budget refused")
		}
	}
	if b.withdraw() {
		t.Fatal("an empty budget allowed a hedge")
	}
	granted := 0
	for range 100 {
		b.deposit()
		if b.withdraw() {
			granted++
		}
	}
	if granted != 25 {
		t.Errorf("100 calls at 0.25 granted %d hedges, want 25", granted)
	}
	for range 1000 {
		b.deposit()
	}
	if got := b.balance.Load(); got != 10*budgetUnit {
		t.Errorf("balance after many deposits = %v hedges, want the ceiling 10", float64(got)/budgetUnit)
	}
}

func TestPercentileDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := New(Config{Delay: time.Second, Percentile: 0.9, Window: 100, MinSamples: 50, MinDelay: 3 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var took atomic.Int64
		op := bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			time.Sleep(time.Duration(took.Load()))
			return nil, nil
		})
		run := func(d time.Duration) {
			took.Store(int64(d))
			if _, err := h.Execute(context.Background(), op); err != nil {
				t.Fatal(err)
			}
		}
		// 49 samples: not enough, the configured Delay holds.
		for i := range 49 {
			run(time.Duration(i+1) * time.Millisecond)
		}
		if s := h.Snapshot(); s.Delay != time.Second || s.Samples != 49 {
			t.Fatalf("after 49 samples: %+v", s)
		}
		run(50 * time.Millisecond) // samples 1..50 ms: p90 is 45 ms
		if got := h.Delay(); got != 45*time.Millisecond {
			t.Fatalf("after 50 samples: delay %v, want 45ms", got)
		}
		// 150 more of 1 ms: the window (100) now holds only those; the
		// delay is recomputed every 2 samples and floored at MinDelay.
		for range 150 {
			run(time.Millisecond)
		}
		if s := h.Snapshot(); s.Delay != 3*time.Millisecond || s.Samples != 100 {
			t.Errorf("after fast calls: %+v; want the 3ms floor", s)
		}
	})
}

func TestFixedDelaySnapshot(t *testing.T) {
	h, _ := New(Config{Delay: 7 * time.Millisecond})
	if s := h.Snapshot(); s.Delay != 7*time.Millisecond || s.Samples != 0 {
		t.Errorf("Snapshot = %+v", s)
	}
	if h.Name() != "" {
		t.Errorf("Name = %q", h.Name())
	}
}

// TestSimultaneousFinishVirtual: the first attempt and the hedge finish at
// the same instant, many times; every call gets one of the two results.
// Run with -race.
func TestSimultaneousFinishVirtual(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _ := New(Config{Delay: 10 * time.Millisecond, Budget: 1})
		for i := range 300 {
			op := newScript(step{20 * time.Millisecond, "one", nil}, step{10 * time.Millisecond, "two", nil})
			v, err := h.Execute(context.Background(), op)
			if err != nil || (v != "one" && v != "two") {
				t.Fatalf("call %d: Execute = %v, %v", i, v, err)
			}
			if got := time.Since(op.t0); got != 20*time.Millisecond {
				t.Fatalf("call %d: returned after %v, want 20ms", i, got)
			}
		}
		if s := h.Snapshot(); s.Hedges != 300 {
			t.Errorf("Snapshot = %+v; want 300 hedges", s)
		}
	})
}

// TestSimultaneousFinishReal: in real time, both attempts are released by
// the same gate and race to deliver their results, from many concurrent
// calls. Run with -race.
func TestSimultaneousFinishReal(t *testing.T) {
	h, _ := New(Config{Delay: time.Microsecond, Budget: 1, MaxHedges: 1})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				gate := make(chan struct{})
				var started sync.WaitGroup
				started.Add(2)
				var n atomic.Int32
				op := bulwark.OperationFunc(func(ctx context.Context) (any, error) {
					k := n.Add(1)
					started.Done()
					<-gate
					return fmt.Sprint(g, i, k), nil
				})
				go func() { started.Wait(); close(gate) }()
				v, err := h.Execute(context.Background(), op)
				if err != nil || (v != fmt.Sprint(g, i, 1) && v != fmt.Sprint(g, i, 2)) {
					t.Errorf("Execute = %v, %v", v, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkExecuteNoHedge(b *testing.B) {
	h, _ := New(Config{Delay: time.Second})
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.Execute(ctx, op)
	}
}

func BenchmarkExecuteNoHedgePercentile(b *testing.B) {
	h, _ := New(Config{Delay: time.Second, Percentile: 0.95})
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.Execute(ctx, op)
	}
}
