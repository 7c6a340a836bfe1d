package breaker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

var (
	errNotFound = errors.New("not found")
	errBusy     = errors.New("busy")
)

// TestClassification checks how outcomes are counted.
func TestClassification(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	type status int
	for _, tc := range []struct {
		name   string
		c      Config
		ctx    context.Context
		result any
		err    error
		want   bulwark.Outcome
	}{
		{"nil error", Config{}, context.Background(), 1, nil, bulwark.OutcomeSuccess},
		{"any error fails", Config{}, context.Background(), nil, errBoom, bulwark.OutcomeFailure},
		{"caller cancelled", Config{}, canceled, nil, context.Canceled, bulwark.OutcomeIgnored},
		{"caller cancelled, wrapped", Config{}, canceled, nil, fmt.Errorf("get: %w", context.Canceled), bulwark.OutcomeIgnored},
		{"dependency cancelled, caller not", Config{}, context.Background(), nil, context.Canceled, bulwark.OutcomeFailure},
		{"deadline of the dependency", Config{}, context.Background(), nil, context.DeadlineExceeded, bulwark.OutcomeFailure},
		{"caller cancelled beats IsFailure", Config{IsFailure: func(error) bool { return true }}, canceled, nil, context.Canceled, bulwark.OutcomeIgnored},
		{"ignored", Config{IsIgnored: func(err error) bool { return errors.Is(err, errNotFound) }}, context.Background(), nil, fmt.Errorf("x: %w", errNotFound), bulwark.OutcomeIgnored},
		{"not ignored", Config{IsIgnored: func(err error) bool { return errors.Is(err, errNotFound) }}, context.Background(), nil, errBoom, bulwark.OutcomeFailure},
		{"IsFailure false is a success", Config{IsFailure: func(err error) bool { return err == errBusy }}, context.Background(), nil, errBoom, bulwark.OutcomeSuccess},
		{"IsFailure true", Config{IsFailure: func(err error) bool { return err == errBusy }}, context.Background(), nil, errBusy, bulwark.OutcomeFailure},
		{"IsIgnored before IsFailure", Config{IsIgnored: func(error) bool { return true }, IsFailure: func(error) bool { return true }}, context.Background(), nil, errBoom, bulwark.OutcomeIgnored},
		{"failure result", Config{IsFailureResult: func(v any) bool { s, ok := v.(status); return ok && s >= 500 }}, context.Background(), status(503), nil, bulwark.OutcomeFailure},
		{"good result", Config{IsFailureResult: func(v any) bool { s, ok := v.(status); return ok && s >= 500 }}, context.Background(), status(200), nil, bulwark.OutcomeSuccess},
		{"IsFailureResult not asked with an error", Config{IsFailureResult: func(any) bool { panic("asked") }}, context.Background(), nil, errBoom, bulwark.OutcomeFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obs eventlog.Recorder
			tc.c.Observer = &obs
			br := mustNew(t, tc.c)
			v, err := br.Execute(tc.ctx, bulwark.OperationFunc(func(context.Context) (any, error) { return tc.result, tc.err }))
			if v != tc.result || err != tc.err {
				t.Fatalf("Execute = %v, %v; want the call's own %v, %v", v, err, tc.result, tc.err)
			}
			ev := obs.Of(bulwark.KindCall)
			if len(ev) != 1 || ev[0].Outcome != tc.want || ev[0].Err != tc.err || ev[0].Policy != "breaker" {
				t.Fatalf("events %+v, want one %v", ev, tc.want)
			}
			s := br.Snapshot()
			want := Snapshot{Calls: 1}
			switch tc.want {
			case bulwark.OutcomeFailure:
				want.Failures, want.ConsecutiveFailures = 1, 1
			case bulwark.OutcomeIgnored:
				want.Calls, want.Ignored = 0, 1
			}
			if s.Calls != want.Calls || s.Failures != want.Failures || s.Ignored != want.Ignored || s.ConsecutiveFailures != want.ConsecutiveFailures {
				t.Errorf("snapshot %+v, want %+v", s, want)
			}
			// The permit's Finish classifies the same way.
			br2 := mustNew(t, tc.c)
			p, _ := br2.Allow()
			p.Finish(tc.ctx, tc.result, tc.err)
			if s2 := br2.Snapshot(); s2.Calls != s.Calls || s2.Failures != s.Failures || s2.Ignored != s.Ignored {
				t.Errorf("Finish counted %+v, Execute %+v", s2, s)
			}
		})
	}
}

func TestPermitMethods(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		c                        Config
		report                   func(Permit)
		calls, failures, ignored int
		wantOutcome              bulwark.Outcome
	}{
		{"Done(nil)", Config{}, func(p Permit) { p.Done(nil) }, 1, 0, 0, bulwark.OutcomeSuccess},
		{"Done(err)", Config{}, func(p Permit) { p.Done(errBoom) }, 1, 1, 0, bulwark.OutcomeFailure},
		{"Done(ignored)", Config{IsIgnored: func(error) bool { return true }}, func(p Permit) { p.Done(errBoom) }, 0, 0, 1, bulwark.OutcomeIgnored},
		{"Done(not a failure)", Config{IsFailure: func(error) bool { return false }}, func(p Permit) { p.Done(errBoom) }, 1, 0, 0, bulwark.OutcomeSuccess},
		{"Done(cancelled) is the caller giving up", Config{}, func(p Permit) { p.Done(context.Canceled) }, 0, 0, 1, bulwark.OutcomeIgnored},
		{"Done cannot see whose deadline", Config{}, func(p Permit) { p.Done(context.DeadlineExceeded) }, 1, 1, 0, bulwark.OutcomeFailure},
		{"Success", Config{}, Permit.Success, 1, 0, 0, bulwark.OutcomeSuccess},
		{"Failure", Config{}, Permit.Failure, 1, 1, 0, bulwark.OutcomeFailure},
		{"Ignore", Config{}, Permit.Ignore, 0, 0, 1, bulwark.OutcomeIgnored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obs eventlog.Recorder
			tc.c.Observer = &obs
			br := mustNew(t, tc.c)
			p, err := br.Allow()
			if err != nil {
				t.Fatal(err)
			}
			tc.report(p)
			s := br.Snapshot()
			if s.Calls != tc.calls || s.Failures != tc.failures || s.Ignored != uint64(tc.ignored) {
				t.Errorf("snapshot %+v", s)
			}
			if ev := obs.Of(bulwark.KindCall); len(ev) != 1 || ev[0].Outcome != tc.wantOutcome {
				t.Errorf("events %+v", ev)
			}
		})
	}
	// The zero Permit, and a disabled breaker's, ignore every report.
	var zero Permit
	zero.Done(errBoom)
	zero.Finish(context.Background(), nil, errBoom)
	zero.Success()
	zero.Failure()
	zero.Ignore()
	var obs eventlog.Recorder
	br := mustNew(t, Config{Observer: &obs})
	br.Disable()
	p, err := br.Allow()
	if err != nil || p != (Permit{}) {
		t.Fatalf("disabled Allow = %+v, %v", p, err)
	}
	p.Failure()
	if obs.Len() != 1 { // the change to disabled
		t.Errorf("disabled breaker reported %+v", obs.Events())
	}
}

// TestPanic: a panic in the call counts as a failure and is re-raised
// with the same value.
func TestPanic(t *testing.T) {
	type custom struct{ n int }
	for _, value := range []any{"boom", errBoom, custom{7}, new(runtime.PanicNilError)} {
		t.Run(fmt.Sprint(value), func(t *testing.T) {
			var obs eventlog.Recorder
			br := mustNew(t, Config{MinimumCalls: 2, WindowSize: 2, Observer: &obs})
			for i := range 2 {
				got := func() (r any) {
					defer func() { r = recover() }()
					bulwark.Get(context.Background(), br, func(context.Context) (int, error) { panic(value) })
					return nil
				}()
				if got != value {
					t.Fatalf("recovered %v, want the same value %v", got, value)
				}
				if i == 0 {
					if s := br.Snapshot(); s.Failures != 1 {
						t.Errorf("panic not counted: %+v", s)
					}
				}
			}
			wantState(t, br, StateOpen)
			ev := obs.Of(bulwark.KindCall)
			if len(ev) != 2 || ev[0].Outcome != bulwark.OutcomeFailure || ev[0].Err == nil || !strings.Contains(ev[0].Err.Error(), "panicked") {
				t.Errorf("events %+v", ev)
			}
		})
	}
	t.Run("nil", func(t *testing.T) {
		br := mustNew(t, Config{})
		got := func() (r any) {
			defer func() { r = recover() }()
			bulwark.Run(context.Background(), br, func(context.Context) error { panic(nil) })
			return nil
		}()
		if _, ok := got.(*runtime.PanicNilError); !ok {
			t.Fatalf("recovered %T", got)
		}
		if s := br.Snapshot(); s.Failures != 1 {
			t.Errorf("panic(nil) not counted: %+v", s)
		}
	})
}

// TestGoexit: a call that ends its goroutine (t.FailNow in a test double)
// is not counted, and does not wedge a half-open breaker.
func TestGoexit(t *testing.T) {
	br := mustNew(t, Config{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		bulwark.Run(context.Background(), br, func(context.Context) error { runtime.Goexit(); return nil })
	}()
	<-done
	if s := br.Snapshot(); s.Calls != 0 || s.Ignored != 1 {
		t.Errorf("Goexit counted: %+v", s)
	}
}

func TestSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		br := mustNew(t, Config{Name: "db", WindowSize: 10, SlowCallDuration: time.Second, SlowCallRateThreshold: 0.9,
			IsIgnored: func(err error) bool { return err == errNotFound }})
		calls(t, br, 2, nil)
		for range 3 {
			slowCall(br, 2*time.Second, nil)
		}
		calls(t, br, 1, errNotFound)
		calls(t, br, 2, errBoom)
		got := br.Snapshot()
		want := Snapshot{
			Name: "db", State: StateClosed, Since: start, Shadow: StateClosed,
			Window: WindowCount, WindowSize: 10,
			Calls: 7, Failures: 2, SlowCalls: 3, FailureRate: 2.0 / 7, SlowCallRate: 3.0 / 7,
			ConsecutiveFailures: 2, Ignored: 1, Wait: 30 * time.Second, LongestWait: 30 * time.Second,
		}
		if got != want {
			t.Errorf("closed:\n got %+v\nwant %+v", got, want)
		}
		calls(t, br, 3, errBoom) // 10 calls, 50% failures
		opened := time.Now()
		got = br.Snapshot()
		want.State, want.Shadow, want.Since = StateOpen, StateOpen, opened
		want.Calls, want.Failures, want.FailureRate, want.SlowCallRate, want.ConsecutiveFailures = 10, 5, 0.5, 0.3, 5
		want.OpenUntil = opened.Add(30 * time.Second)
		if got != want {
			t.Errorf("open:\n got %+v\nwant %+v", got, want)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		p, _ := br.Allow()
		br.Allow()
		p.Failure()
		got = br.Snapshot()
		if got.State != StateHalfOpen || !got.Since.Equal(opened.Add(30*time.Second)) || got.Probes != 2 ||
			got.ProbeFailures != 1 || got.ProbeSlowCalls != 0 || !got.OpenUntil.IsZero() || got.Wait != 30*time.Second {
			t.Errorf("half-open: %+v", got)
		}
	})
}

func TestTimeWindowSnapshotForgets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br := mustNew(t, Config{Window: WindowTime, WindowSize: 5})
		calls(t, br, 3, errBoom)
		time.Sleep(2 * time.Second)
		calls(t, br, 2, nil)
		if s := br.Snapshot(); s.Calls != 5 || s.Failures != 3 {
			t.Fatalf("%+v", s)
		}
		time.Sleep(3 * time.Second) // the first second falls out
		if s := br.Snapshot(); s.Calls != 2 || s.Failures != 0 {
			t.Fatalf("%+v", s)
		}
		time.Sleep(time.Minute)
		if s := br.Snapshot(); s.Calls != 0 || s.FailureRate != 0 {
			t.Fatalf("%+v", s)
		}
	})
}

func TestObserverEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var obs eventlog.Recorder
		br := mustNew(t, Config{Name: "db", Window: WindowConsecutive, WindowSize: 2, SlowCallDuration: time.Second, Observer: &obs})
		slowCall(br, 3*time.Second, nil)
		calls(t, br, 2, errBoom)
		rejected(t, br, StateOpen)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		calls(t, br, 3, nil)

		ev := obs.Events()
		var got []string
		for _, e := range ev {
			if e.Policy != "breaker" || e.Name != "db" {
				t.Errorf("event %+v", e)
			}
			switch e.Kind {
			case bulwark.KindCall:
				got = append(got, fmt.Sprintf("call:%v:slow=%v:%v", e.Outcome, e.Slow, e.Duration))
			case bulwark.KindRejected:
				var oe *OpenError
				if !errors.As(e.Err, &oe) {
					t.Errorf("rejection event error %v", e.Err)
				}
				got = append(got, fmt.Sprintf("rejected:%v", e.Delay))
			case bulwark.KindStateChange:
				got = append(got, "change:"+e.From+">"+e.To)
			}
		}
		want := []string{
			"call:success:slow=true:3s", "call:failure:slow=false:0s",
			"call:failure:slow=false:0s", "change:closed>open",
			"rejected:30s",
			"change:open>half-open",
			"call:success:slow=false:0s", "call:success:slow=false:0s",
			"call:success:slow=false:0s", "change:half-open>closed",
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("events\n got %v\nwant %v", got, want)
		}
	})
}

// TestCleanSuccessEvent: once the window is full of fast successes, a
// success changes nothing and takes a shorter path; it must report the same
// event as any other success, through Execute and through a Permit, and
// leave the figures as they were.
func TestCleanSuccessEvent(t *testing.T) {
	want := bulwark.Event{Kind: bulwark.KindCall, Policy: "breaker", Name: "db", Outcome: bulwark.OutcomeSuccess}
	for _, tc := range []struct {
		name string
		call func(br *Breaker)
	}{
		{"Execute", func(br *Breaker) {
			br.Execute(context.Background(), bulwark.OperationFunc(func(context.Context) (any, error) { return 1, nil }))
		}},
		{"Done", func(br *Breaker) { p, _ := br.Allow(); p.Done(nil) }},
		{"Finish", func(br *Breaker) { p, _ := br.Allow(); p.Finish(context.Background(), 1, nil) }},
		{"Success", func(br *Breaker) { p, _ := br.Allow(); p.Success() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obs eventlog.Recorder
			br := mustNew(t, Config{Name: "db", WindowSize: 4, Observer: &obs})
			for range 8 { // fill the window, then run on a clean one
				tc.call(br)
			}
			ev := obs.Of(bulwark.KindCall)
			if len(ev) != 8 {
				t.Fatalf("%d call events, want 8", len(ev))
			}
			for i, e := range ev {
				if e.Kind != want.Kind || e.Policy != want.Policy || e.Name != want.Name || e.Outcome != want.Outcome ||
					e.Slow || e.Duration != 0 || e.Err != nil || e.From != "" || e.To != "" || e.Attempt != 0 || e.Delay != 0 || e.Stack != nil {
					t.Errorf("event %d = %+v, want %+v", i, e, want)
				}
			}
			if s := br.Snapshot(); s.Calls != 4 || s.Failures != 0 || s.State != StateClosed {
				t.Errorf("snapshot %+v, want 4 calls, no failure, closed", s)
			}
			// Reconfiguring renames the events of the clean path too.
			if err := br.Reconfigure(Config{Name: "db2", WindowSize: 4, Observer: &obs}); err != nil {
				t.Fatal(err)
			}
			tc.call(br)
			if ev := obs.Of(bulwark.KindCall); ev[len(ev)-1].Name != "db2" {
				t.Errorf("after Reconfigure, event %+v, want Name db2", ev[len(ev)-1])
			}
		})
	}
}

// TestNoDurationWithoutSlowCallDetection: without SlowCallDuration the
// breaker does not time calls.
func TestNoDurationWithoutSlowCallDetection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var obs eventlog.Recorder
		br := mustNew(t, Config{Observer: &obs})
		slowCall(br, time.Hour, nil)
		if ev := obs.Of(bulwark.KindCall); len(ev) != 1 || ev[0].Duration != 0 || ev[0].Slow {
			t.Errorf("events %+v", ev)
		}
	})
}

// TestConcurrentCalls hammers a breaker from many goroutines while its state
// is changed by hand, for the race detector.
func TestConcurrentCalls(t *testing.T) {
	br := mustNew(t, Config{WindowSize: 20, MinimumCalls: 5, WaitDuration: time.Millisecond, MaxHalfOpen: time.Millisecond})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				var err error
				if (i+g)%3 == 0 {
					err = errBoom
				}
				call(br, err)
				if p, err := br.Allow(); err == nil {
					p.Done(nil)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			switch i % 5 {
			case 0:
				br.ForceOpen()
			case 1:
				br.Reset()
			case 2:
				br.MetricsOnly()
			case 3:
				br.OpenUntil(time.Now().Add(time.Millisecond))
			case 4:
				br.CloseNow()
			}
			br.Snapshot()
		}
	})
	wg.Wait()
	br.Reset()
	calls(t, br, 1, nil)
}
