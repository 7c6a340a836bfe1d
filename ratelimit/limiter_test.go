package ratelimit

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

func mustNew(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const ms = time.Millisecond

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no rate", Config{}, "Config.Rate is 0"},
		{"negative rate", Config{Rate: -1}, "Config.Rate is -1"},
		{"NaN rate", Config{Rate: math.NaN()}, "Config.Rate is NaN"},
		{"rate too high", Config{Rate: 2e9}, "at most 1e+09"},
		{"rate too low", Config{Rate: 1e-12}, "at least one per"},
		{"rate and limit", Config{Rate: 1, Limit: 1, Per: time.Second}, "Config.Rate and Config.Limit/Per are both set"},
		{"limit without per", Config{Limit: 5}, "Config.Per is 0s"},
		{"per without limit", Config{Per: time.Second}, "Config.Limit is 0"},
		{"negative limit", Config{Limit: -5, Per: time.Second}, "Config.Limit is -5"},
		{"limit per too fast", Config{Limit: 2000, Per: time.Microsecond}, "more than the maximum"},
		{"per too long", Config{Limit: 1, Per: 1 << 62}, "Config.Per is"},
		{"negative burst", Config{Rate: 1, Burst: -1}, "Config.Burst is -1"},
		{"burst too large", Config{Rate: 1, Burst: 1 << 40}, "Config.Burst is 1099511627776"},
		{"negative wait", Config{Rate: 1, MaxWait: -ms}, "Config.MaxWait is -1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%+v) = %v, %v; want an error containing %q", tt.cfg, l, err, tt.want)
			}
		})
	}
	for _, cfg := range []Config{
		{Rate: math.Inf(1)},
		{Rate: MaxRate, Burst: 1 << 30},
		{Limit: 100, Per: time.Minute, Burst: 10},
		{Rate: 0.001},
	} {
		if _, err := New(cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

// step is one request in a GCRA table: n events at offset at from the
// limiter's start, and the decision expected.
type step struct {
	at   time.Duration
	n    int
	want Decision
}

func runSteps(t *testing.T, l *Limiter, steps []step) {
	t.Helper()
	for i, s := range steps {
		if got := l.CheckN(l.base.Add(s.at), s.n); got != s.want {
			t.Errorf("step %d: CheckN(+%v, %d) = %+v, want %+v", i, s.at, s.n, got, s.want)
		}
	}
}

func allowed(limit, remaining int, reset time.Duration) Decision {
	return Decision{Allowed: true, Limit: limit, Remaining: remaining, ResetAfter: reset}
}

func refused(limit, remaining int, retry, reset time.Duration) Decision {
	return Decision{Limit: limit, Remaining: remaining, RetryAfter: retry, ResetAfter: reset}
}

func TestGCRAArithmetic(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"smooth: evenly spaced", Config{Rate: 10}, []step{
			{0, 1, allowed(1, 0, 100*ms)},
			{0, 1, refused(1, 0, 100*ms, 100*ms)},
			{100*ms - 1, 1, refused(1, 0, 1, 1)},
			{100 * ms, 1, allowed(1, 0, 100*ms)},
			{150 * ms, 1, refused(1, 0, 50*ms, 50*ms)},
			{200 * ms, 1, allowed(1, 0, 100*ms)},
			// Idle time does not pile up beyond the burst of 1.
			{time.Second, 1, allowed(1, 0, 100*ms)},
			{time.Second, 1, refused(1, 0, 100*ms, 100*ms)},
		}},
		{"bursty: a burst on top of the rate", Config{Rate: 10, Burst: 3}, []step{
			{0, 1, allowed(3, 2, 100*ms)},
			{0, 1, allowed(3, 1, 200*ms)},
			{0, 1, allowed(3, 0, 300*ms)},
			{0, 1, refused(3, 0, 100*ms, 300*ms)},
			{50 * ms, 1, refused(3, 0, 50*ms, 250*ms)},
			{100 * ms, 1, allowed(3, 0, 300*ms)},
			{150 * ms, 1, refused(3, 0, 50*ms, 250*ms)},
			// Refill: at 300ms, 100ms short of full, two events are back;
			// later all three.
			{300 * ms, 1, allowed(3, 1, 200*ms)},
			{time.Second, 3, allowed(3, 0, 300*ms)},
		}},
		{"AllowN", Config{Rate: 100, Burst: 5}, []step{
			{0, 4, allowed(5, 1, 40*ms)},
			{0, 2, refused(5, 1, 10*ms, 40*ms)},
			{10 * ms, 2, allowed(5, 0, 50*ms)},
			{10 * ms, 0, allowed(5, 0, 50*ms)},
			{10 * ms, 6, refused(5, 0, Never, 50*ms)},
		}},
		{"Limit per Per", Config{Limit: 3, Per: time.Minute, Burst: 3}, []step{
			{0, 3, allowed(3, 0, time.Minute)},
			{0, 1, refused(3, 0, 20*time.Second, time.Minute)},
			{20 * time.Second, 1, allowed(3, 0, time.Minute)},
			{2 * time.Minute, 1, allowed(3, 2, 20*time.Second)},
		}},
		{"unlimited", Config{Rate: math.Inf(1), Burst: 2}, []step{
			{0, 1, allowed(2, 2, 0)},
			{0, 100, allowed(2, 2, 0)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, mustNew(t, tt.cfg), tt.steps)
		})
	}
}

// Over a long run the limiter admits the rate, not one event more or less,
// even when the interval is not a whole number of nanoseconds. With a burst
// of b and interval I, a caller asking often gets b events at once and then
// one at each multiple of I: b + floor(span/I) in all.
func TestLongRunRate(t *testing.T) {
	tests := []struct {
		cfg    Config
		period time.Duration // how often a caller asks
		span   time.Duration
		want   int
	}{
		{Config{Rate: 3, Burst: 2}, 10 * ms, 3000*time.Second - 10*ms, 2 + 8999},
		{Config{Rate: 10, Burst: 5}, ms, 10*time.Second - ms, 5 + 99},
		{Config{Limit: 7, Per: time.Minute, Burst: 2}, 100 * ms, time.Hour - ms, 2 + 419},
		{Config{Rate: 0.5, Burst: 2}, 100 * ms, 100*time.Second - ms, 2 + 49},
		// Smooth: one every 250ms, asked exactly then.
		{Config{Rate: 4}, ms, 10*time.Second - ms, 40},
		// Smooth and asked late: with a burst of 1 lateness is not made
		// up, so a caller asking every 300ms gets one event per 300ms.
		{Config{Rate: 4}, 300 * ms, 30*time.Second - ms, 100},
	}
	for _, tt := range tests {
		l := mustNew(t, tt.cfg)
		got := 0
		for at := time.Duration(0); at <= tt.span; at += tt.period {
			for l.AllowAt(l.base.Add(at)) {
				got++
			}
		}
		if got != tt.want {
			t.Errorf("%+v: %d events admitted in %v, want %d", tt.cfg, got, tt.span, tt.want)
		}
	}
}

func TestSubNanosecondInterval(t *testing.T) {
	l := mustNew(t, Config{Rate: 3e8})
	if got := l.limits.Load().interval; got != 53 { // 16e9/3e8 = 53.33 ticks of 1/16 ns
		t.Fatalf("interval = %d ticks, want 53", got)
	}
	// One second's worth in one go: within 1% of the rate.
	l = mustNew(t, Config{Rate: 3e8, Burst: 1000})
	got := 0
	for at := time.Duration(0); at < 10*time.Microsecond; at += 100 {
		for l.AllowN(l.base.Add(at), 10) {
			got += 10
		}
	}
	if want := 3000 + 1000; got < want-40 || got > want+40 { // 10µs at 3e8/s, plus the burst
		t.Errorf("%d events in 10µs at 3e8/s with burst 1000, want %d ± 1%%", got, want)
	}
}

func TestNegativeCountPanics(t *testing.T) {
	l := mustNew(t, Config{Rate: 1})
	for name, f := range map[string]func(){
		"AllowN":   func() { l.AllowN(time.Now(), -1) },
		"CheckN":   func() { l.CheckN(time.Now(), -1) },
		"ReserveN": func() { l.ReserveN(time.Now(), -1) },
		"WaitN":    func() { _ = l.WaitN(context.Background(), -1) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "negative event count") {
					t.Errorf("%s(-1): recovered %v, want a panic about the negative count", name, r)
				}
			}()
			f()
		}()
	}
}

func TestAllowAndSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		l := mustNew(t, Config{Name: "api", Rate: 2, Burst: 2, Observer: rec})
		got := []bool{l.Allow(), l.Allow(), l.Allow()}
		if want := []bool{true, true, false}; !slices.Equal(got, want) {
			t.Fatalf("Allow ×3 = %v, want %v", got, want)
		}
		want := Snapshot{Allowed: 2, Rejected: 1, Rate: 2, Burst: 2, Tokens: 0}
		if s := l.Snapshot(); s != want {
			t.Errorf("Snapshot() = %+v, want %+v", s, want)
		}
		time.Sleep(750 * ms)
		if s := l.Snapshot(); s.Tokens != 1.5 {
			t.Errorf("Tokens after 750ms = %v, want 1.5", s.Tokens)
		}
		ev := rec.Events()
		if len(ev) != 1 || ev[0].Kind != bulwark.KindRejected || ev[0].Policy != "ratelimit" || ev[0].Name != "api" ||
			ev[0].Delay != 500*ms || !errors.Is(ev[0].Err, ErrLimited) {
			t.Errorf("events %+v, want one KindRejected with Delay 500ms", ev)
		}
		if l.Name() != "api" {
			t.Errorf("Name() = %q", l.Name())
		}
	})
}

func TestConcurrentCallersShareTheBurstExactly(t *testing.T) {
	l := mustNew(t, Config{Rate: 1, Burst: 1000})
	now := time.Now()
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for g := range counts {
		wg.Go(func() {
			for range 500 {
				if l.AllowAt(now) {
					counts[g]++
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != 1000 {
		t.Fatalf("%d events admitted at one instant with a burst of 1000", total)
	}
	if s := l.Snapshot(); s.Allowed != 1000 || s.Rejected != 3000 {
		t.Errorf("Snapshot %+v, want 1000 allowed, 3000 rejected", s)
	}
}

func TestExecute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		l := mustNew(t, Config{Name: "api", Rate: 10, Observer: rec})
		ctx := context.Background()
		v, err := bulwark.Get(ctx, l, func(context.Context) (int, error) { return 1, nil })
		if v != 1 || err != nil {
			t.Fatalf("first call: %v, %v", v, err)
		}
		ran := false
		err = bulwark.Run(ctx, l, func(context.Context) error { ran = true; return nil })
		var le *LimitedError
		if ran || !errors.As(err, &le) || !errors.Is(err, ErrLimited) || le.Name != "api" || le.Delay != 100*ms {
			t.Fatalf("second call: ran %v, err %v; want a *LimitedError with Delay 100ms", ran, err)
		}
		var ra bulwark.RetryAfter
		if !errors.As(err, &ra) || ra.RetryAfter() != 100*ms {
			t.Fatalf("err does not carry RetryAfter 100ms: %v", err)
		}
		if got, want := err.Error(), `ratelimit "api": limited, retry after 100ms`; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}

		// With MaxWait, a call waits its turn.
		l = mustNew(t, Config{Rate: 10, MaxWait: 150 * ms, Observer: rec})
		start := time.Now()
		for range 2 {
			if err := bulwark.Run(ctx, l, func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 100*ms {
			t.Errorf("two calls took %v, want 100ms", got)
		}
		// With the next slot reserved, a call would wait 200ms > MaxWait:
		// it is refused at once.
		r := l.Reserve()
		start = time.Now()
		err = bulwark.Run(ctx, l, func(context.Context) error { return nil })
		if !errors.As(err, &le) || le.Delay != 200*ms || time.Since(start) != 0 {
			t.Fatalf("err %v after %v; want a *LimitedError with Delay 200ms at once", err, time.Since(start))
		}
		r.Cancel()
		if err := bulwark.Run(ctx, l, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("after cancelling the reservation: %v", err)
		}
		if got := time.Since(start); got != 100*ms {
			t.Errorf("waited %v, want 100ms", got)
		}
		kinds := rec.Kinds()
		if want := []bulwark.Kind{bulwark.KindRejected, bulwark.KindWait, bulwark.KindRejected, bulwark.KindWait}; !slices.Equal(kinds, want) {
			t.Errorf("events %v, want %v", kinds, want)
		}
	})
}

func TestLimitedErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  *LimitedError
		want string
	}{
		{&LimitedError{Delay: time.Second}, "ratelimit: limited, retry after 1s"},
		{&LimitedError{Name: "x", Delay: Never}, `ratelimit "x": limited, request exceeds the burst`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	l := mustNew(t, Config{Rate: MaxRate, Burst: 1 << 20})
	refusing := mustNew(t, Config{Rate: 1e-3})
	refusing.Allow()
	observed := mustNew(t, Config{Rate: MaxRate, Burst: 1 << 20, Observer: &eventlog.Recorder{}})
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	now := time.Now()
	tests := map[string]func(){
		"Allow":          func() { l.Allow() },
		"AllowAt":        func() { l.AllowAt(now) },
		"Check":          func() { l.Check() },
		"Execute":        func() { _, _ = l.Execute(ctx, op) },
		"Reserve":        func() { r := l.Reserve(); r.Cancel() },
		"Wait":           func() { _ = l.Wait(ctx) },
		"Allow refused":  func() { refusing.Allow() },
		"Check refused":  func() { refusing.Check() },
		"Snapshot":       func() { l.Snapshot() },
		"Allow observed": func() { observed.Allow() },
	}
	for name, f := range tests {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

// A caller paused between reading the clock and deciding must not be
// refused, or made to wait, for its old reading. At a rate of 1e9 and a
// burst of 1e6 the bucket refills in 1ms; the caller below is paused for
// 10ms at its first clock reading while another takes all but one event
// of the burst at the later time. Judged at its old reading, the caller
// would be refused (or wait 10ms) although the bucket has room for it.
func TestPausedCallerIsNotRefused(t *testing.T) {
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	tests := []struct {
		name string
		cfg  Config
		call func(*Limiter) bool
	}{
		{"Allow", Config{}, func(l *Limiter) bool { return l.Allow() }},
		{"Check", Config{}, func(l *Limiter) bool { return l.Check().Allowed }},
		{"Execute", Config{}, func(l *Limiter) bool { _, err := l.Execute(ctx, op); return err == nil }},
		{"Execute with MaxWait", Config{MaxWait: time.Microsecond}, func(l *Limiter) bool {
			_, err := l.Execute(ctx, op)
			return err == nil
		}},
		{"Wait", Config{}, func(l *Limiter) bool {
			start := time.Now()
			err := l.Wait(ctx)
			return err == nil && time.Since(start) == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const burst = 1_000_000
				cfg := tt.cfg
				cfg.Rate, cfg.Burst = 1e9, burst
				l := mustNew(t, cfg)
				reading := time.Second // the bucket is full
				paused := false
				l.since = func() time.Duration {
					r := reading
					if !paused {
						paused = true
						reading += 10 * ms
						if !l.AllowN(l.base.Add(reading), burst-1) {
							t.Fatal("the other caller was refused")
						}
					}
					return r
				}
				if !tt.call(l) {
					t.Fatalf("%s refused (or waited) with one event left in the bucket", tt.name)
				}
				if l.AllowN(l.base.Add(reading), 1) {
					t.Error("an event beyond the burst was admitted")
				}
				if s := l.Snapshot(); s.Allowed != 2 {
					t.Errorf("Snapshot %+v, want 2 allowed", s)
				}
			})
		})
	}
}
