package adaptive

import (
	"context"
	"errors"
	"fmt"
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

// fixed returns a limiter whose limit stays at n: AIMD between n and n.
func fixed(t testing.TB, n int, c Config) *Limiter {
	t.Helper()
	c.Algorithm, c.InitialLimit, c.MinLimit, c.MaxLimit = AIMD{}, n, n, n
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"negative min", Config{MinLimit: -1}, "Config.MinLimit"},
		{"negative max", Config{MaxLimit: -1}, "Config.MaxLimit"},
		{"negative initial", Config{InitialLimit: -1}, "Config.InitialLimit"},
		{"min above max", Config{MinLimit: 10, MaxLimit: 5}, "Config.MinLimit (10) must not exceed MaxLimit (5)"},
		{"initial below min", Config{MinLimit: 10, InitialLimit: 5}, "Config.InitialLimit (5)"},
		{"initial above max", Config{MaxLimit: 10, InitialLimit: 50}, "Config.InitialLimit (50)"},
		{"negative queue", Config{QueueSize: -1}, "Config.QueueSize"},
		{"negative max wait", Config{MaxWait: -time.Second}, "Config.MaxWait"},
		{"AIMD backoff", Config{Algorithm: AIMD{Backoff: 1.5}}, "AIMD.Backoff"},
		{"AIMD increase", Config{Algorithm: AIMD{Increase: -1}}, "AIMD.Increase"},
		{"AIMD NaN increase", Config{Algorithm: AIMD{Increase: math.NaN()}}, "AIMD.Increase"},
		{"AIMD threshold", Config{Algorithm: AIMD{Threshold: -1}}, "AIMD.Threshold"},
		{"Gradient tolerance", Config{Algorithm: Gradient{Tolerance: 0.5}}, "Gradient.Tolerance"},
		{"Gradient smoothing", Config{Algorithm: Gradient{Smoothing: 2}}, "Gradient.Smoothing"},
		{"Vegas smoothing", Config{Algorithm: Vegas{Smoothing: -0.1}}, "Vegas.Smoothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.c)
			if err == nil || l != nil {
				t.Fatalf("New = %v, %v; want an error", l, err)
			}
			if !strings.HasPrefix(err.Error(), "adaptive: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		c    Config
		want int // the limit in force at the start (Gradient probes at half)
	}{
		{Config{Algorithm: AIMD{}}, DefaultInitialLimit},
		{Config{Algorithm: AIMD{}, MaxLimit: 5}, 5},
		{Config{Algorithm: AIMD{}, MinLimit: 40}, 40},
		{Config{}, DefaultInitialLimit / 2},
		{Config{InitialLimit: 1}, 1},
	}
	for _, tt := range tests {
		l, err := New(tt.c)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Snapshot().Limit; got != tt.want {
			t.Errorf("New(%+v): limit %d, want %d", tt.c, got, tt.want)
		}
	}
}

func TestShedsAtTheLimit(t *testing.T) {
	rec := &eventlog.Recorder{}
	l := fixed(t, 3, Config{Name: "db", Observer: rec})
	ctx := context.Background()
	var toks []Token
	for range 3 {
		tok, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	_, err := l.Acquire(ctx)
	var oe *OverloadedError
	if !errors.Is(err, ErrOverloaded) || !errors.As(err, &oe) {
		t.Fatalf("4th Acquire: err = %v; want an *OverloadedError", err)
	}
	if oe.Limit != 3 || oe.InFlight != 3 || oe.Priority != PriorityNormal || oe.Waited != 0 {
		t.Errorf("OverloadedError = %+v", oe)
	}
	var ra bulwark.RetryAfter
	if !errors.As(err, &ra) {
		t.Error("OverloadedError does not implement bulwark.RetryAfter")
	}
	if s := l.Snapshot(); s.InFlight != 3 || s.Shed != 1 || s.Admitted != 3 {
		t.Errorf("Snapshot = %+v", s)
	}
	toks[0].OnSuccess()
	if tok, err := l.Acquire(ctx); err != nil {
		t.Errorf("after a release: %v", err)
	} else {
		tok.OnIgnore()
	}
	toks[1].OnDropped()
	toks[2].Done(errors.New("x"))
	if s := l.Snapshot(); s.InFlight != 0 || s.Admitted != 4 {
		t.Errorf("Snapshot = %+v", s)
	}
	if got, want := fmt.Sprint(rec.Kinds()), "[rejected call call call call]"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	events := rec.Events()
	if e := events[0]; e.Policy != "adaptive" || e.Name != "db" || e.Err != err {
		t.Errorf("rejected event %+v", e)
	}
	outs := []bulwark.Outcome{bulwark.OutcomeSuccess, bulwark.OutcomeIgnored, bulwark.OutcomeFailure, bulwark.OutcomeSuccess}
	for i, want := range outs {
		if got := events[i+1].Outcome; got != want {
			t.Errorf("call event %d: outcome %v, want %v", i, got, want)
		}
	}
}

func TestPriorityAllowances(t *testing.T) {
	tests := []struct {
		limit                 int
		low, normal, critical int
	}{
		{1, 1, 1, 2},
		{2, 1, 2, 3},
		{10, 5, 10, 11},
		{40, 20, 40, 44},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			for _, c := range []struct {
				p    Priority
				want int
			}{{PriorityLow, tt.low}, {PriorityNormal, tt.normal}, {PriorityCritical, tt.critical},
				{-100, tt.low}, {100, tt.critical}} {
				l := fixed(t, tt.limit, Config{})
				n := 0
				for {
					if _, err := l.Acquire(WithPriority(context.Background(), c.p)); err != nil {
						var oe *OverloadedError
						if !errors.As(err, &oe) || oe.Priority != c.p {
							t.Fatalf("err = %v", err)
						}
						break
					}
					n++
				}
				if n != c.want {
					t.Errorf("limit %d, priority %v: admitted %d, want %d", tt.limit, c.p, n, c.want)
				}
			}
		})
	}
}

// TestLowPriorityShedFirst: with the limit half full of normal calls, low
// priority calls are refused while normal and critical ones get in.
func TestLowPriorityShedFirst(t *testing.T) {
	l := fixed(t, 10, Config{})
	ctx := context.Background()
	for range 5 {
		if _, err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.AcquirePriority(ctx, PriorityLow); !errors.Is(err, ErrOverloaded) {
		t.Errorf("low priority at half the limit: err = %v", err)
	}
	for range 5 {
		if _, err := l.AcquirePriority(ctx, PriorityNormal); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Acquire(ctx); !errors.Is(err, ErrOverloaded) {
		t.Errorf("normal at the limit: err = %v", err)
	}
	if _, err := l.AcquirePriority(ctx, PriorityCritical); err != nil {
		t.Errorf("critical at the limit: err = %v", err)
	}
}

func TestPriorityString(t *testing.T) {
	for p, want := range map[Priority]string{PriorityLow: "low", PriorityNormal: "normal", PriorityCritical: "critical", -5: "low", 7: "critical"} {
		if got := p.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", p, got, want)
		}
	}
	if got := fmt.Sprintf("%#v", Priority(7)); got != "adaptive.Priority(7)" {
		t.Errorf("GoString = %q", got)
	}
	if got := PriorityFrom(context.Background()); got != PriorityNormal {
		t.Errorf("PriorityFrom(Background) = %v", got)
	}
}

func TestClassify(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		err  error
		want outcome
	}{
		{nil, outcomeMeasured},
		{errors.New("not found"), outcomeMeasured},
		{context.Canceled, outcomeIgnored},
		{fmt.Errorf("query: %w", ctx.Err()), outcomeIgnored},
		{context.DeadlineExceeded, outcomeDropped},
		{fmt.Errorf("rpc: %w", context.DeadlineExceeded), outcomeDropped},
		{&OverloadedError{}, outcomeDropped},
		{fmt.Errorf("downstream: %w", ErrOverloaded), outcomeDropped},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestZeroTokenIsHarmless(t *testing.T) {
	var tok Token
	tok.Done(nil)
	tok.OnSuccess()
	tok.OnDropped()
	tok.OnIgnore()
}

func TestExecute(t *testing.T) {
	l := fixed(t, 1, Config{})
	ctx := context.Background()
	v, err := l.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) { return 7, nil }))
	if v != 7 || err != nil {
		t.Fatalf("Execute = %v, %v", v, err)
	}
	errX := errors.New("x")
	if _, err := l.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) { return nil, errX })); err != errX {
		t.Errorf("Execute returned %v, want the operation's error", err)
	}
	// A panic gives the place back and is raised again.
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v", p)
			}
		}()
		l.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) { panic("boom") }))
	}()
	if s := l.Snapshot(); s.InFlight != 0 {
		t.Fatalf("after a panic: %d in flight", s.InFlight)
	}
	// Over the limit, op does not run.
	tok, _ := l.Acquire(ctx)
	ran := false
	_, err = l.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) { ran = true; return nil, nil }))
	if !errors.Is(err, ErrOverloaded) || ran {
		t.Errorf("over the limit: err %v, ran %v", err, ran)
	}
	tok.OnIgnore()
}

func TestQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		l := fixed(t, 1, Config{QueueSize: 2, Observer: rec})
		ctx := context.Background()
		held, _ := l.Acquire(ctx)
		// A critical call also fills the critical reserve (1 + 1).
		heldCritical, err := l.AcquirePriority(ctx, PriorityCritical)
		if err != nil {
			t.Fatal(err)
		}

		type result struct {
			tok Token
			err error
			at  time.Duration
		}
		start := time.Now()
		acquire := func(p Priority) chan result {
			ch := make(chan result, 1)
			go func() {
				tok, err := l.AcquirePriority(ctx, p)
				ch <- result{tok, err, time.Since(start)}
			}()
			synctest.Wait() // queued in this order
			return ch
		}
		low := acquire(PriorityLow)
		normal := acquire(PriorityNormal)
		if s := l.Snapshot(); s.Queued != 2 {
			t.Fatalf("Queued = %d, want 2", s.Queued)
		}
		// The queue is full: a critical call pushes out the low-priority
		// waiter; then another normal call, finding no one less important
		// to push out, is refused at once.
		critical := acquire(PriorityCritical)
		r := <-low
		var oe *OverloadedError
		if !errors.As(r.err, &oe) || oe.Priority != PriorityLow {
			t.Fatalf("pushed-out waiter: %v", r.err)
		}
		if _, err := l.Acquire(ctx); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("with the queue full: %v", err)
		}

		// Releasing admits the critical waiter first, then the normal one.
		time.Sleep(5 * time.Millisecond)
		held.OnSuccess()
		r = <-critical
		if r.err != nil || r.at != 5*time.Millisecond {
			t.Fatalf("critical waiter: %v at %v", r.err, r.at)
		}
		time.Sleep(5 * time.Millisecond)
		r.tok.OnSuccess()
		select {
		case r = <-normal:
			t.Fatalf("the normal waiter got in over the normal limit: %v", r.err)
		default:
		}
		heldCritical.OnSuccess()
		r = <-normal
		if r.err != nil || r.at != 10*time.Millisecond {
			t.Fatalf("normal waiter: %v at %v", r.err, r.at)
		}
		r.tok.OnSuccess()
		if s := l.Snapshot(); s.Queued != 0 || s.InFlight != 0 || s.Shed != 2 || s.Admitted != 4 {
			t.Errorf("Snapshot = %+v", s)
		}
		var waits []time.Duration
		for _, e := range rec.Of(bulwark.KindWait) {
			waits = append(waits, e.Delay)
		}
		if fmt.Sprint(waits) != "[5ms 10ms]" {
			t.Errorf("wait events %v, want [5ms 10ms]", waits)
		}
	})
}

func TestMaxWaitAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := fixed(t, 1, Config{QueueSize: 5, MaxWait: 20 * time.Millisecond})
		held, _ := l.Acquire(context.Background())
		start := time.Now()
		_, err := l.Acquire(context.Background())
		var oe *OverloadedError
		if !errors.As(err, &oe) || oe.Waited != 20*time.Millisecond || time.Since(start) != 20*time.Millisecond {
			t.Fatalf("queue timeout: %v after %v", err, time.Since(start))
		}
		if !strings.Contains(err.Error(), "after waiting 20ms") {
			t.Errorf("error %q does not say how long it waited", err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		if _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("context ended in the queue: %v", err)
		}
		if s := l.Snapshot(); s.Queued != 0 || s.Shed != 1 || s.InFlight != 1 {
			t.Errorf("Snapshot = %+v; a caller that gave up is not shed", s)
		}
		held.OnSuccess()
	})
}

// TestGrantedAfterCancel: a waiter admitted as its context ends gives the
// place back and returns the context's error. The test holds the limiter's
// lock while it both admits the waiter and cancels its context, so the
// waiter sees both when it wakes.
func TestGrantedAfterCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		l := fixed(t, 1, Config{QueueSize: 1, Observer: rec})
		held, _ := l.Acquire(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			tok, err := l.Acquire(ctx)
			tok.OnSuccess()
			done <- err
		}()
		synctest.Wait()
		l.mu.Lock()
		l.releaseLocked(held.seq, 0, outcomeIgnored, l.now()) // admits the waiter
		cancel()
		l.mu.Unlock()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if s := l.Snapshot(); s.InFlight != 0 || s.Queued != 0 || s.Admitted != 1 || s.Shed != 0 {
			t.Errorf("Snapshot = %+v", s)
		}
		if got := rec.Kinds(); len(got) != 0 {
			t.Errorf("events %v; a place given back unused is not a call", got)
		}
	})
}

// TestOvertaking: a newcomer may overtake queued calls less important than
// itself when its own allowance has room, never calls as important.
func TestOvertaking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := fixed(t, 10, Config{QueueSize: 2})
		ctx := context.Background()
		var held []Token
		for range 5 {
			tok, _ := l.Acquire(ctx)
			held = append(held, tok)
		}
		low := make(chan error, 1)
		go func() {
			tok, err := l.AcquirePriority(ctx, PriorityLow)
			tok.OnSuccess()
			low <- err
		}()
		synctest.Wait()
		if s := l.Snapshot(); s.Queued != 1 {
			t.Fatalf("the low-priority call is not queued: %+v", s)
		}
		tok, err := l.Acquire(ctx)
		if err != nil {
			t.Fatalf("a normal call behind a low-priority waiter: %v", err)
		}
		held = append(held, tok)
		for _, tok := range held {
			tok.OnSuccess()
		}
		if err := <-low; err != nil {
			t.Errorf("low-priority waiter: %v", err)
		}
	})
}

func TestAIMDMovesTheLimit(t *testing.T) {
	l, _ := New(Config{Algorithm: AIMD{Backoff: 0.5}, InitialLimit: 10})
	ctx := context.Background()
	window := func(report func(Token)) {
		var toks []Token
		for range 10 {
			tok, err := l.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			toks = append(toks, tok)
		}
		for _, tok := range toks {
			report(tok)
		}
	}
	window(Token.OnSuccess)
	if got := l.Snapshot().Limit; got != 11 {
		t.Fatalf("after a full good window: limit %d, want 11", got)
	}
	window(Token.OnDropped) // 11 calls make the window: one more below
	tok, _ := l.Acquire(ctx)
	tok.OnDropped()
	if got := l.Snapshot().Limit; got != 5 {
		t.Fatalf("after a window of drops: limit %d, want 5", got)
	}
	// Ignored calls are not samples.
	for range 30 {
		tok, _ := l.Acquire(ctx)
		tok.OnIgnore()
	}
	if got := l.Snapshot().Limit; got != 5 {
		t.Errorf("after ignored calls: limit %d, want 5", got)
	}
	// A window that used less than half the limit does not raise it.
	for range 10 {
		tok, _ := l.Acquire(ctx)
		tok.OnSuccess()
	}
	if got := l.Snapshot().Limit; got != 5 {
		t.Errorf("after an app-limited window: limit %d, want 5", got)
	}
}

func TestAlgorithmUpdates(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		alg   Algorithm
		limit float64
		w     window
		want  float64
	}{
		{"AIMD good", AIMD{}, 20, window{rtt: ms, maxInFlight: 20}, 21},
		{"AIMD app-limited", AIMD{}, 20, window{rtt: ms, maxInFlight: 9}, 20},
		{"AIMD drop", AIMD{}, 20, window{dropped: 1, maxInFlight: 20}, 18},
		{"AIMD over threshold", AIMD{Threshold: 10 * ms, Increase: 3}, 20, window{rtt: 11 * ms, maxInFlight: 20}, 18},
		{"AIMD at threshold", AIMD{Threshold: 10 * ms, Increase: 3}, 20, window{rtt: 10 * ms, maxInFlight: 20}, 23},
		{"Gradient no-load", Gradient{}, 100, window{rtt: 10 * ms, noLoad: 10 * ms, maxInFlight: 100}, 110},
		{"Gradient half way to tolerance", Gradient{}, 100, window{rtt: 11 * ms, noLoad: 10 * ms, maxInFlight: 100}, 105},
		{"Gradient at tolerance", Gradient{}, 100, window{rtt: 12 * ms, noLoad: 10 * ms, maxInFlight: 100}, 101},
		{"Gradient app-limited", Gradient{}, 100, window{rtt: 10 * ms, noLoad: 10 * ms, maxInFlight: 10}, 100},
		{"Gradient over tolerance", Gradient{}, 100, window{rtt: 15 * ms, noLoad: 10 * ms, maxInFlight: 100}, 96},
		{"Gradient app-limited over tolerance", Gradient{}, 100, window{rtt: 15 * ms, noLoad: 10 * ms, maxInFlight: 49}, 100},
		{"Gradient floor", Gradient{Smoothing: 1}, 100, window{rtt: 100 * ms, noLoad: 10 * ms, maxInFlight: 50}, 50},
		{"Gradient drop", Gradient{}, 100, window{dropped: 1, rtt: 10 * ms, noLoad: 10 * ms}, 90},
		{"Gradient before a probe", Gradient{}, 100, window{rtt: 10 * ms}, 100},
		{"Vegas nothing queued", Vegas{}, 100, window{rtt: 10 * ms, noLoad: 10 * ms, maxInFlight: 100}, 112},
		{"Vegas few queued", Vegas{}, 100, window{rtt: 10.4 * 1e6, noLoad: 10 * ms, maxInFlight: 100}, 102},
		{"Vegas in band", Vegas{}, 100, window{rtt: 11 * ms, noLoad: 10 * ms, maxInFlight: 100}, 100},
		{"Vegas too many queued", Vegas{}, 100, window{rtt: 20 * ms, noLoad: 10 * ms, maxInFlight: 100}, 98},
		{"Vegas app-limited", Vegas{}, 100, window{rtt: 20 * ms, noLoad: 10 * ms, maxInFlight: 20}, 100},
		{"Vegas drop", Vegas{Smoothing: 0.5}, 100, window{dropped: 2}, 99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.alg.newEstimator().update(tt.limit, tt.w)
			if math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("update(%v, %+v) = %v, want %v", tt.limit, tt.w, got, tt.want)
			}
		})
	}
}

func TestSelectNth(t *testing.T) {
	for n := 1; n < 40; n++ {
		for k := range n {
			xs := make([]int64, n)
			for i := range xs {
				xs[i] = int64((i*7919 + n*31) % 13) // repeats and disorder
			}
			sorted := append([]int64(nil), xs...)
			for i := range sorted { // insertion sort as the reference
				for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
					sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
				}
			}
			if got := selectNth(xs, k); got != sorted[k] {
				t.Fatalf("n=%d k=%d: got %d, want %d", n, k, got, sorted[k])
			}
		}
	}
}

// TestProbe: a Gradient limiter starts with a probe at half the initial
// limit, learns the no-load latency from it, then returns to the full limit.
func TestProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := New(Config{InitialLimit: 20})
		if s := l.Snapshot(); !s.Probing || s.Limit != 10 {
			t.Fatalf("at the start: %+v", s)
		}
		ctx := context.Background()
		for i := range probeMin {
			tok, err := l.Acquire(ctx)
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			time.Sleep(time.Duration(i%5+1) * time.Millisecond) // median 3ms
			tok.OnSuccess()
		}
		s := l.Snapshot()
		if s.Probing || s.Limit != 20 || s.NoLoad != 3*time.Millisecond {
			t.Errorf("after the probe: %+v", s)
		}
	})
}

// TestConcurrentUse hammers a limiter with a queue from many goroutines,
// some of which give up; run with -race. Everything adds up at the end.
func TestConcurrentUse(t *testing.T) {
	l, _ := New(Config{InitialLimit: 4, MaxLimit: 8, QueueSize: 4, MaxWait: time.Millisecond})
	var ok, shed, gaveUp atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				ctx := context.Background()
				var cancel context.CancelFunc = func() {}
				if i%7 == 0 {
					ctx, cancel = context.WithTimeout(ctx, 50*time.Microsecond)
				}
				tok, err := l.AcquirePriority(ctx, Priority(g%3-1))
				switch {
				case err == nil:
					ok.Add(1)
					if i%3 == 0 {
						tok.OnDropped()
					} else {
						tok.Done(nil)
					}
				case errors.Is(err, ErrOverloaded):
					shed.Add(1)
				default:
					gaveUp.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	s := l.Snapshot()
	if s.InFlight != 0 || s.Queued != 0 {
		t.Errorf("left over: %+v", s)
	}
	if s.Admitted != uint64(ok.Load()) || s.Shed != uint64(shed.Load()) || ok.Load()+shed.Load()+gaveUp.Load() != 2400 {
		t.Errorf("Snapshot %+v; ok %d shed %d gave up %d", s, ok.Load(), shed.Load(), gaveUp.Load())
	}
}
