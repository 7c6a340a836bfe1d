package timeout_test

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
	"github.com/bulwark-go/bulwark/internal/leakcheck"
	"github.com/bulwark-go/bulwark/timeout"
)

var errCallerCause = errors.New("caller gave up")

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// ended checks what an ended context reports, Done included.
func ended(t *testing.T, ctx context.Context, wantErr, wantCause error) {
	t.Helper()
	if err := ctx.Err(); err != wantErr {
		t.Errorf("ctx.Err() = %v, want %v", err, wantErr)
	}
	if cause := context.Cause(ctx); cause != wantCause {
		t.Errorf("context.Cause = %v, want %v", cause, wantCause)
	}
	if !isClosed(ctx.Done()) {
		t.Error("ctx.Done() is open")
	}
}

// The operation's context, in waiting mode, looked at in every order: the
// deadline or the caller's cancellation seen through Done (armed before),
// or only found afterwards (never armed before).
func TestWaitingContextEnds(t *testing.T) {
	tests := []struct {
		name      string
		doneFirst bool          // the operation takes ctx.Done() at once
		cancelAt  time.Duration // the caller cancels (with errCallerCause); 0 for never
		wake      time.Duration // when the operation looks at ctx
		wantErr   error
		wantCause error
		wantTO    bool // Execute returns an ExceededError
	}{
		{name: "deadline, Done taken", doneFirst: true, wake: 2 * time.Second,
			wantErr: context.DeadlineExceeded, wantCause: timeout.ErrTimeout, wantTO: true},
		{name: "deadline, Done never taken", wake: 2 * time.Second,
			wantErr: context.DeadlineExceeded, wantCause: timeout.ErrTimeout, wantTO: true},
		{name: "deadline, looked at exactly then", wake: time.Second,
			wantErr: context.DeadlineExceeded, wantCause: timeout.ErrTimeout, wantTO: true},
		{name: "caller cancels, Done taken", doneFirst: true, cancelAt: 300 * ms, wake: 500 * ms,
			wantErr: context.Canceled, wantCause: errCallerCause},
		{name: "caller cancels, Done never taken", cancelAt: 300 * ms, wake: 500 * ms,
			wantErr: context.Canceled, wantCause: errCallerCause},
		{name: "caller cancels after the deadline, Done taken", doneFirst: true, cancelAt: 1500 * ms, wake: 2 * time.Second,
			wantErr: context.DeadlineExceeded, wantCause: timeout.ErrTimeout, wantTO: true},
		// Nobody watched: the order of a cancellation and the deadline is
		// unknown, and the caller gets it.
		{name: "caller cancels after the deadline, Done never taken", cancelAt: 1500 * ms, wake: 2 * time.Second,
			wantErr: context.Canceled, wantCause: errCallerCause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				to := mustNew(t, timeout.Config{Duration: time.Second})
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				if tt.cancelAt > 0 {
					time.AfterFunc(tt.cancelAt, func() { cancel(errCallerCause) })
				}
				_, err := to.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
					var done <-chan struct{}
					if tt.doneFirst {
						done = ctx.Done()
					}
					time.Sleep(tt.wake)
					ended(t, ctx, tt.wantErr, tt.wantCause)
					ended(t, ctx, tt.wantErr, tt.wantCause) // and it stays so
					if done != nil && ctx.Done() != done {
						t.Error("ctx.Done() returned another channel")
					}
					return nil, ctx.Err()
				}))
				var e *timeout.ExceededError
				if got := errors.As(err, &e); got != tt.wantTO {
					t.Fatalf("Execute error = %v; want an ExceededError: %v", err, tt.wantTO)
				}
				if !tt.wantTO && err != tt.wantErr {
					t.Errorf("Execute error = %v, want the caller's %v", err, tt.wantErr)
				}
			})
		})
	}
}

// An operation that ignores ctx and fails after both deadlines: the policy's
// came first, since the caller's is later, whoever looks.
func TestWaitingBothDeadlinesPassedUnobserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, timeout.Config{Duration: time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := to.Execute(ctx, bulwark.OperationFunc(ignores(3*time.Second, nil, errBoom)))
		if !isExceeded(err) || !errors.Is(err, errBoom) {
			t.Errorf("Execute = %v, want an ExceededError wrapping boom", err)
		}
		_, err = to.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			return nil, nil
		}))
		if err != nil { // the caller's deadline has passed, so op gets ctx itself
			t.Errorf("after the caller's deadline, Execute = %v", err)
		}
	})
}

func TestWaitingDeadlineAndValue(t *testing.T) {
	type key struct{}
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, timeout.Config{Duration: time.Second})
		parent := context.WithValue(t.Context(), key{}, "v")
		for _, callerDL := range []time.Duration{0, 5 * time.Second} {
			ctx := parent
			if callerDL > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(parent, callerDL)
				defer cancel()
			}
			start := time.Now()
			_, _ = to.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
				if dl, ok := ctx.Deadline(); !ok || !dl.Equal(start.Add(time.Second)) {
					t.Errorf("caller's deadline %v: Deadline() = %v, %v; want %v", callerDL, dl, ok, start.Add(time.Second))
				}
				if v := ctx.Value(key{}); v != "v" {
					t.Errorf("Value = %v, want the parent's", v)
				}
				if ctx.Err() != nil || context.Cause(ctx) != nil {
					t.Errorf("live context: Err %v, Cause %v", ctx.Err(), context.Cause(ctx))
				}
				if s := fmt.Sprint(ctx); !strings.Contains(s, "WithTimeout") {
					t.Errorf("String() = %q", s)
				}
				time.Sleep(2 * time.Second)
				if v := ctx.Value(key{}); v != "v" {
					t.Errorf("after the deadline, Value = %v, want the parent's", v)
				}
				if dl, ok := ctx.Deadline(); !ok || !dl.Equal(start.Add(time.Second)) {
					t.Errorf("after the deadline, Deadline() = %v, %v", dl, ok)
				}
				return nil, nil
			}))
		}
		// Under a caller's deadline that comes first, or at the same time,
		// the operation gets the caller's context itself.
		for _, callerDL := range []time.Duration{time.Second, 500 * ms} {
			ctx, cancel := context.WithTimeout(parent, callerDL)
			_, _ = to.Execute(ctx, bulwark.OperationFunc(func(got context.Context) (any, error) {
				if got != ctx {
					t.Errorf("caller's deadline %v: op got %v, want the caller's context", callerDL, got)
				}
				return nil, nil
			}))
			cancel()
		}
	})
}

// Contexts derived from the operation's end at the policy's deadline, with
// its cause, whether they were made before it or after it passed unseen,
// and end (canceled) when the call returns.
func TestWaitingDerivedContexts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		to := mustNew(t, timeout.Config{Duration: time.Second})
		var after context.Context
		_, err := to.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			fired := make(chan time.Duration, 1)
			start := time.Now()
			stop := context.AfterFunc(ctx, func() { fired <- time.Since(start) })
			defer stop()
			time.Sleep(2 * time.Second)
			ended(t, child, context.DeadlineExceeded, timeout.ErrTimeout)
			select {
			case d := <-fired:
				if d != time.Second {
					t.Errorf("AfterFunc ran after %v, want 1s", d)
				}
			default:
				t.Error("AfterFunc did not run at the deadline")
			}
			return nil, child.Err()
		}))
		if !isExceeded(err) {
			t.Fatalf("Execute = %v", err)
		}

		// The deadline passes unobserved, then a child is made.
		_, _ = to.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			time.Sleep(2 * time.Second)
			late, cancel := context.WithCancel(ctx)
			defer cancel()
			ended(t, late, context.DeadlineExceeded, timeout.ErrTimeout)
			return nil, nil
		}))

		// A child made during a successful call ends when it returns.
		ranAfter := make(chan struct{})
		var cancelAfter context.CancelFunc
		_, _ = to.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			after, cancelAfter = context.WithCancel(ctx)
			context.AfterFunc(ctx, func() { close(ranAfter) })
			return 1, nil
		}))
		ended(t, after, context.Canceled, context.Canceled)
		cancelAfter()
		select {
		case <-ranAfter:
		case <-time.After(time.Second):
			t.Error("an AfterFunc registered during the call did not run when it returned")
		}
	})
}

// A context the operation keeps after the call says how the call ended.
func TestWaitingContextAfterTheCall(t *testing.T) {
	tests := []struct {
		name      string
		op        fn
		wantErr   error
		wantCause error
	}{
		{name: "success", op: func(context.Context) (any, error) { return 1, nil },
			wantErr: context.Canceled, wantCause: context.Canceled},
		{name: "failure", op: func(context.Context) (any, error) { return nil, errBoom },
			wantErr: context.Canceled, wantCause: context.Canceled},
		{name: "late failure", op: ignores(2*time.Second, nil, errBoom),
			wantErr: context.DeadlineExceeded, wantCause: timeout.ErrTimeout},
		{name: "policy deadline, Done taken", op: honours(time.Hour, nil, nil),
			wantErr: context.DeadlineExceeded, wantCause: timeout.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				to := mustNew(t, timeout.Config{Duration: time.Second})
				var kept context.Context
				_, _ = to.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
					kept = ctx
					return tt.op(ctx)
				}))
				ended(t, kept, tt.wantErr, tt.wantCause)
				time.Sleep(5 * time.Second) // past any deadline
				ended(t, kept, tt.wantErr, tt.wantCause)
			})
		})
	}
}

// Goroutines of the operation race on Err, Done and Value across the
// deadline and the caller's cancellation, in real time: a non-nil Err comes
// only with Done closed, never changes, and Done is always one channel.
func TestWaitingContextConsistency(t *testing.T) {
	leakcheck.Check(t)
	for i := range 20 {
		to := mustNew(t, timeout.Config{Duration: 2 * ms})
		ctx, cancel := context.WithCancel(t.Context())
		if i%2 == 1 {
			time.AfterFunc(2*ms, cancel)
		}
		_, _ = to.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					var first error
					var done <-chan struct{}
					for j := 0; j < 200000; j++ {
						var err error
						switch (g + j) % 3 {
						case 0:
							err = ctx.Err()
						case 1:
							d := ctx.Done()
							if done == nil {
								done = d
							} else if d != done {
								t.Error("Done returned another channel")
								return
							}
							continue
						case 2:
							_ = context.Cause(ctx)
							err = ctx.Err()
						}
						if err == nil {
							if first != nil {
								t.Errorf("Err went back to nil after %v", first)
								return
							}
							continue
						}
						if !isClosed(ctx.Done()) {
							t.Errorf("Err = %v with Done open", err)
							return
						}
						if first == nil {
							first = err
						} else if err != first {
							t.Errorf("Err changed from %v to %v", first, err)
							return
						}
						if j > 1000 {
							return
						}
					}
				})
			}
			wg.Wait()
			return nil, ctx.Err()
		}))
		cancel()
	}
}

// An operation that waits on ctx arms one standard context: no goroutine per
// derived context, and nothing left running once the call returns.
func TestWaitingNoGoroutinePerChild(t *testing.T) {
	leakcheck.Check(t)
	to := mustNew(t, timeout.Config{Duration: time.Hour})
	var kept []context.Context
	_, _ = to.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
		before := runtime.NumGoroutine()
		var stops []func()
		for range 50 {
			child, cancel := context.WithCancel(ctx)
			kept = append(kept, child)
			stops = append(stops, cancel, func() { context.AfterFunc(ctx, func() {})() })
		}
		if n := runtime.NumGoroutine() - before; n >= 25 {
			t.Errorf("%d goroutines started for 50 derived contexts", n)
		}
		for _, stop := range stops[:50] {
			stop()
		}
		return nil, nil
	}))
	// The rest were not cancelled by the operation: the policy did.
	for _, child := range kept[25:] {
		if child.Err() != context.Canceled {
			t.Fatalf("a derived context is %v after the call, want canceled", child.Err())
		}
	}
}

// A goroutine of the operation arms the context while the call returns:
// whichever wins, the context ends with the call, and no timer is left.
func TestWaitingArmRacesReturn(t *testing.T) {
	leakcheck.Check(t)
	to := mustNew(t, timeout.Config{Duration: time.Hour})
	for range 500 {
		armed := make(chan (<-chan struct{}))
		var kept context.Context
		_, _ = to.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			kept = ctx
			go func() { armed <- ctx.Done() }()
			runtime.Gosched()
			return nil, nil
		}))
		if done := <-armed; !isClosed(done) || kept.Err() != context.Canceled {
			t.Fatalf("after the call: Done closed %v, Err %v; want closed, canceled", isClosed(done), kept.Err())
		}
	}
}
