package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
	"github.com/bulwark-go/bulwark/timeout"
)

func TestMain(m *testing.M) {
	if os.Getenv("TIMEOUT_TEST_LATE_PANIC") == "1" {
		latePanic()
		return
	}
	leakcheck.Main(m)
}

const ms = time.Millisecond

var errBoom = errors.New("boom")

func mustNew(t *testing.T, c timeout.Config) *timeout.Timeout {
	t.Helper()
	to, err := timeout.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func TestNewRejectsBadDuration(t *testing.T) {
	for _, d := range []time.Duration{0, -ms} {
		to, err := timeout.New(timeout.Config{Duration: d})
		want := fmt.Sprintf("timeout: Config.Duration must be positive (got %v)", d)
		if to != nil || err == nil || err.Error() != want {
			t.Errorf("New(Duration: %v) = %v, %v; want nil, %q", d, to, err, want)
		}
	}
}

// fn is an operation; the table below runs each case in both modes unless
// it says otherwise.
type fn = func(ctx context.Context) (any, error)

// honours waits d, or until ctx ends, then returns v and err (or ctx.Err()).
func honours(d time.Duration, v any, err error) fn {
	return func(ctx context.Context) (any, error) {
		select {
		case <-time.After(d):
			return v, err
		case <-ctx.Done():
			return nil, fmt.Errorf("op: %w", ctx.Err())
		}
	}
}

// ignores sleeps d whatever ctx says, then returns v and err.
func ignores(d time.Duration, v any, err error) fn {
	return func(context.Context) (any, error) {
		time.Sleep(d)
		return v, err
	}
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name       string
		detached   []bool // modes to run in
		op         fn
		caller     time.Duration // caller's own deadline; 0 for none
		cancelAt   time.Duration // when the caller cancels; 0 for never
		wantV      any
		wantErr    func(error) bool
		wantAt     time.Duration // when Execute returns
		wantTimout bool
	}{
		{name: "fast success", detached: []bool{false, true}, op: honours(10*ms, "ok", nil),
			wantV: "ok", wantErr: isNil, wantAt: 10 * ms},
		{name: "fast failure unchanged", detached: []bool{false, true}, op: honours(10*ms, nil, errBoom),
			wantErr: is(errBoom), wantAt: 10 * ms},
		{name: "policy deadline", detached: []bool{false, true}, op: honours(time.Hour, "late", nil),
			wantErr: isExceeded, wantAt: time.Second, wantTimout: true},
		{name: "caller cancels", detached: []bool{false, true}, op: honours(time.Hour, "late", nil), cancelAt: 300 * ms,
			wantErr: isCallers(context.Canceled), wantAt: 300 * ms},
		{name: "caller deadline first", detached: []bool{false, true}, op: honours(time.Hour, "late", nil), caller: 400 * ms,
			wantErr: isCallers(context.DeadlineExceeded), wantAt: 400 * ms},
		{name: "caller deadline at the same time", detached: []bool{false, true}, op: honours(time.Hour, "late", nil),
			caller: time.Second, wantErr: isCallers(context.DeadlineExceeded), wantAt: time.Second},
		{name: "policy deadline before caller's", detached: []bool{false, true}, op: honours(time.Hour, "late", nil),
			caller: 5 * time.Second, wantErr: isExceeded, wantAt: time.Second, wantTimout: true},
		// Waiting mode: an operation that ignores ctx is waited for; its late
		// success is returned, its late failure becomes a timeout.
		{name: "late success is returned", detached: []bool{false}, op: ignores(3*time.Second, "late", nil),
			wantV: "late", wantErr: isNil, wantAt: 3 * time.Second},
		{name: "late failure is a timeout", detached: []bool{false}, op: ignores(3*time.Second, nil, errBoom),
			wantErr: both(isExceeded, is(errBoom)), wantAt: 3 * time.Second, wantTimout: true},
		// Detached mode returns on time whatever the operation does.
		{name: "detached ignores ctx", detached: []bool{true}, op: ignores(time.Hour, "late", nil),
			wantErr: isExceeded, wantAt: time.Second, wantTimout: true},
		{name: "detached ignores ctx, caller cancels", detached: []bool{true}, op: ignores(time.Hour, "late", nil),
			cancelAt: 200 * ms, wantErr: isCallers(context.Canceled), wantAt: 200 * ms},
	}
	for _, tt := range tests {
		for _, detached := range tt.detached {
			t.Run(fmt.Sprintf("%s/detached=%v", tt.name, detached), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var rec eventlog.Recorder
					to := mustNew(t, timeout.Config{Name: "t", Duration: time.Second, Detached: detached, Observer: &rec})
					ctx := t.Context()
					if tt.caller > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tt.caller)
						defer cancel()
					}
					if tt.cancelAt > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithCancel(ctx)
						time.AfterFunc(tt.cancelAt, cancel)
						defer cancel()
					}
					// A detached operation may outlive the call; the bubble
					// must not end before it does.
					opDone := make(chan struct{})
					defer func() { <-opDone }()
					start := time.Now()
					v, err := to.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
						defer close(opDone)
						return tt.op(ctx)
					}))
					if took := time.Since(start); took != tt.wantAt {
						t.Errorf("returned after %v, want %v", took, tt.wantAt)
					}
					if v != tt.wantV || !tt.wantErr(err) {
						t.Errorf("Execute = %v, %v (%T); want %v and a matching error", v, err, err, tt.wantV)
					}
					var timeouts uint64
					if tt.wantTimout {
						timeouts = 1
					}
					if s := to.Snapshot(); s.Calls != 1 || s.Timeouts != timeouts {
						t.Errorf("Snapshot = %+v, want 1 call, %d timeouts", s, timeouts)
					}
					if rec.Len() != int(timeouts) {
						t.Errorf("%d events, want %d", rec.Len(), timeouts)
					}
					if tt.wantTimout {
						e := rec.Events()[0]
						if e.Kind != bulwark.KindTimeout || e.Policy != "timeout" || e.Name != "t" || e.Delay != time.Second || e.Err != err {
							t.Errorf("event = %+v", e)
						}
					}
				})
			})
		}
	}
}

func isNil(err error) bool { return err == nil }

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func both(a, b func(error) bool) func(error) bool {
	return func(err error) bool { return a(err) && b(err) }
}

// isExceeded: the policy's own timeout.
func isExceeded(err error) bool {
	var e *timeout.ExceededError
	return errors.As(err, &e) && e.Duration == time.Second &&
		errors.Is(err, timeout.ErrTimeout) && errors.Is(err, context.DeadlineExceeded)
}

// isCallers: the caller's own cancellation, not the policy's timeout.
func isCallers(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) && !errors.Is(err, timeout.ErrTimeout) }
}

func TestCauseInsideTheOperation(t *testing.T) {
	for _, detached := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			to := mustNew(t, timeout.Config{Duration: time.Second, Detached: detached})
			causes := make(chan error, 1)
			_, err := to.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
				if dl, ok := ctx.Deadline(); !ok || time.Until(dl) != time.Second {
					t.Errorf("deadline in %v, want 1s", time.Until(dl))
				}
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil, ctx.Err()
			}))
			if cause := <-causes; cause != timeout.ErrTimeout {
				t.Errorf("detached=%v: context.Cause = %v, want ErrTimeout", detached, cause)
			}
			var e *timeout.ExceededError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			// Waiting mode wraps the operation's error; detached mode may
			// return before the operation does.
			if !detached && e.Err != context.DeadlineExceeded {
				t.Errorf("ExceededError.Err = %v, want the operation's context.DeadlineExceeded", e.Err)
			}
		})
	}
}

func TestExceededError(t *testing.T) {
	e := &timeout.ExceededError{Duration: 250 * ms, Err: errBoom}
	if got, want := e.Error(), "timeout: call exceeded its 250ms deadline"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, timeout.ErrTimeout) || !errors.Is(e, context.DeadlineExceeded) || !errors.Is(e, errBoom) ||
		errors.Unwrap(e) != errBoom || !e.Timeout() {
		t.Error("ExceededError does not match ErrTimeout, DeadlineExceeded and its Err")
	}
	if errors.Is(e, context.Canceled) {
		t.Error("ExceededError matches context.Canceled")
	}
	// While the caller's context is live, a policy timeout is not the
	// caller's cancellation.
	if bulwark.CallerDone(context.Background(), e) {
		t.Error("CallerDone reports true for a policy timeout")
	}
}

// The late goroutine of a detached call delivers its result into a buffered
// channel nobody reads; it ends when the operation returns.
func TestDetachedLateResultIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, timeout.Config{Duration: time.Second, Detached: true})
		finished := make(chan struct{})
		v, err := to.Execute(t.Context(), bulwark.OperationFunc(func(context.Context) (any, error) {
			defer close(finished)
			time.Sleep(5 * time.Second)
			return "late", nil
		}))
		if v != nil || !isExceeded(err) {
			t.Fatalf("Execute = %v, %v", v, err)
		}
		var e *timeout.ExceededError
		errors.As(err, &e)
		if e.Err != nil {
			t.Errorf("ExceededError.Err = %v, want nil (the operation had not returned)", e.Err)
		}
		if s := to.Snapshot(); s.Abandoned != 1 || s.Orphans != 1 {
			t.Errorf("while the operation runs: Snapshot = %+v, want 1 abandoned, 1 orphan", s)
		}
		<-finished
		synctest.Wait() // the goroutine has returned
		if s := to.Snapshot(); s.Abandoned != 1 || s.Orphans != 0 {
			t.Errorf("after the operation returned: Snapshot = %+v, want 1 abandoned, 0 orphans", s)
		}
	})
}

// Outside a bubble, with real goroutines and the leak checker: an operation
// that ignores ctx entirely, blocked until the test releases it.
func TestDetachedGoroutineEndsWhenOperationReturns(t *testing.T) {
	leakcheck.Check(t)
	to := mustNew(t, timeout.Config{Duration: 5 * ms, Detached: true})
	release := make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	var ran atomic.Bool
	_, err := to.Execute(t.Context(), bulwark.OperationFunc(func(context.Context) (any, error) {
		<-release
		ran.Store(true)
		return make([]byte, 10), nil
	}))
	if !errors.Is(err, timeout.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	releaseOnce.Do(func() { close(release) }) // leakcheck fails the test if the goroutine does not end
	for i := 0; to.Snapshot().Orphans != 0; i++ {
		if i > 5000 {
			t.Fatal("the orphan count never went back to 0")
		}
		runtime.Gosched()
		time.Sleep(ms)
	}
	if !ran.Load() {
		t.Error("the operation did not finish")
	}
}

func TestDetachedCallerAlreadyDone(t *testing.T) {
	to := mustNew(t, timeout.Config{Duration: time.Second, Detached: true})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	_, err := to.Execute(ctx, bulwark.OperationFunc(func(context.Context) (any, error) {
		called = true
		return nil, nil
	}))
	if err != context.Canceled || called {
		t.Errorf("Execute = %v (called %v); want context.Canceled without calling", err, called)
	}
}

func TestDetachedPanicReachesTheCaller(t *testing.T) {
	to := mustNew(t, timeout.Config{Duration: time.Second, Detached: true})
	defer func() {
		if p := recover(); p != "kaboom" {
			t.Errorf("recovered %v, want kaboom", p)
		}
	}()
	_, _ = to.Execute(t.Context(), bulwark.OperationFunc(func(context.Context) (any, error) {
		panic("kaboom")
	}))
	t.Error("Execute returned")
}

func TestWaitingPanicIsNotSwallowed(t *testing.T) {
	to := mustNew(t, timeout.Config{Duration: time.Second})
	defer func() {
		if p := recover(); p != "kaboom" {
			t.Errorf("recovered %v, want kaboom", p)
		}
	}()
	_, _ = to.Execute(t.Context(), bulwark.OperationFunc(func(context.Context) (any, error) {
		panic("kaboom")
	}))
	t.Error("Execute returned")
}

func TestDetachedGoexit(t *testing.T) {
	to := mustNew(t, timeout.Config{Duration: time.Second, Detached: true})
	_, err := to.Execute(t.Context(), bulwark.OperationFunc(func(context.Context) (any, error) {
		runtime.Goexit()
		return nil, nil
	}))
	if err == nil || !strings.Contains(err.Error(), "Goexit") {
		t.Errorf("err = %v, want a Goexit error", err)
	}
}

// latePanic runs in a child process: a detached operation panics after its
// caller has gone, which must crash the program, not vanish.
func latePanic() {
	to, _ := timeout.New(timeout.Config{Duration: ms, Detached: true})
	_, _ = to.Execute(context.Background(), bulwark.OperationFunc(func(context.Context) (any, error) {
		time.Sleep(50 * ms)
		panic("late kaboom")
	}))
	time.Sleep(10 * time.Second) // the panic ends the process first
	os.Exit(0)
}

func TestDetachedLatePanicIsNotSwallowed(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TIMEOUT_TEST_LATE_PANIC=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child exited cleanly; want a crash. Output:\n%s", out)
	}
	if !strings.Contains(string(out), "panic: late kaboom") || !strings.Contains(string(out), "timeout_test.latePanic") {
		t.Errorf("the crash does not show the panic and its origin:\n%s", out)
	}
}

func TestConcurrentDetached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, timeout.Config{Duration: 50 * ms, Detached: true})
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				d := time.Duration(i%4) * 30 * ms // 0, 30, 60, 90 ms: half time out
				v, err := to.Execute(t.Context(), bulwark.OperationFunc(ignores(d, i, nil)))
				if d < 50*ms && (v != i || err != nil) {
					t.Errorf("call %d: Execute = %v, %v; want %d, nil", i, v, err, i)
				}
				if d > 50*ms && (v != nil || !errors.Is(err, timeout.ErrTimeout)) {
					t.Errorf("call %d: Execute = %v, %v; want a timeout", i, v, err)
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Second) // let the late operations finish
		if s := to.Snapshot(); s.Calls != 64 || s.Timeouts != 32 || s.Abandoned != 32 || s.Orphans != 0 {
			t.Errorf("Snapshot = %+v, want 64 calls, 32 timeouts, 32 abandoned, 0 orphans", s)
		}
	})
}

func TestName(t *testing.T) {
	to := mustNew(t, timeout.Config{Name: "db", Duration: time.Second})
	if to.Name() != "db" || to.Duration() != time.Second {
		t.Errorf("Name, Duration = %q, %v", to.Name(), to.Duration())
	}
}
