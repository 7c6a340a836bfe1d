package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/eventlog"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

const ms = time.Millisecond

var errBoom = errors.New("boom")

// script is an operation that returns its results in turn (the last one
// forever after) and records when each attempt started, relative to the
// script's creation.
type script struct {
	start   time.Time
	mu      sync.Mutex
	results []result
	at      []time.Duration
}

type result struct {
	v   any
	err error
}

func newScript(results ...result) *script {
	return &script{start: time.Now(), results: results}
}

func fail(err error) result { return result{err: err} }
func ok(v any) result       { return result{v: v} }

func (s *script) Call(ctx context.Context) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at = append(s.at, time.Since(s.start))
	r := s.results[min(len(s.at), len(s.results))-1]
	return r.v, r.err
}

func (s *script) attempts() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.at)
}

func mustNew(t *testing.T, c retry.Config) *retry.Retry {
	t.Helper()
	r, err := retry.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func exhausted(t *testing.T, err error) *retry.ExhaustedError {
	t.Helper()
	var ex *retry.ExhaustedError
	if !errors.As(err, &ex) {
		t.Fatalf("error %v (%T) is not an *ExhaustedError", err, err)
	}
	if !errors.Is(err, retry.ErrExhausted) {
		t.Fatalf("error %v does not match ErrExhausted", err)
	}
	return ex
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		c    retry.Config
		want string
	}{
		{retry.Config{MaxAttempts: -2}, "retry: Config.MaxAttempts must not be negative, except Unlimited (-1) (got -2)"},
		{retry.Config{MaxElapsed: -1}, "retry: Config.MaxElapsed must not be negative (got -1ns)"},
		{retry.Config{AttemptTimeout: -ms}, "retry: Config.AttemptTimeout must not be negative (got -1ms)"},
		{retry.Config{MaxRetryAfter: -ms}, "retry: Config.MaxRetryAfter must not be negative (got -1ms)"},
		{retry.Config{Jitter: 7}, "retry: Config.Jitter has an unknown value 7"},
	}
	for _, tt := range tests {
		r, err := retry.New(tt.c)
		if err == nil || err.Error() != tt.want || r != nil {
			t.Errorf("New(%+v) = %v, %v; want nil, %q", tt.c, r, err, tt.want)
		}
	}
}

// The README's example: 100 ms initial, ×2, at most 10 s between tries,
// give up after 60 s. With an operation that fails at once, the attempts start at
// the running sums of the waits, and the policy stops when the next wait
// would pass 60 s.
func TestSeedExampleExactDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var waits []time.Duration
		r := mustNew(t, retry.Config{
			Backoff:     retry.Exponential{Initial: 100 * ms, Multiplier: 2, Max: 10 * time.Second},
			MaxAttempts: retry.Unlimited,
			MaxElapsed:  60 * time.Second,
			OnRetry:     func(_ context.Context, e retry.Event) { waits = append(waits, e.Delay) },
		})
		s := newScript(fail(errBoom))
		_, err := r.Execute(t.Context(), s)

		wantWaits := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms,
			10 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
		if !slices.Equal(waits, wantWaits) {
			t.Errorf("waits = %v, want %v", waits, wantWaits)
		}
		wantAt := []time.Duration{0, 100 * ms, 300 * ms, 700 * ms, 1500 * ms, 3100 * ms, 6300 * ms, 12700 * ms,
			22700 * ms, 32700 * ms, 42700 * ms, 52700 * ms}
		if got := s.attempts(); !slices.Equal(got, wantAt) {
			t.Errorf("attempts at %v, want %v", got, wantAt)
		}
		ex := exhausted(t, err)
		want := retry.ExhaustedError{Attempts: 12, Elapsed: 52700 * ms, Reason: retry.ReasonMaxElapsed, Last: errBoom}
		if *ex != want {
			t.Errorf("exhausted = %+v, want %+v", *ex, want)
		}
		if !errors.Is(err, errBoom) {
			t.Errorf("errors.Is(err, errBoom) = false for %v", err)
		}
	})
}

func TestMaxAttemptsAndMaxElapsed(t *testing.T) {
	tests := []struct {
		name         string
		c            retry.Config
		wantAttempts int
		wantReason   retry.Reason
		wantElapsed  time.Duration
	}{
		{"default three attempts", retry.Config{}, 3, retry.ReasonMaxAttempts, 300 * ms},
		{"max attempts 5", retry.Config{MaxAttempts: 5, Backoff: retry.Constant{Interval: time.Second}},
			5, retry.ReasonMaxAttempts, 4 * time.Second},
		{"max attempts first", retry.Config{MaxAttempts: 3, MaxElapsed: time.Minute, Backoff: retry.Constant{Interval: time.Second}},
			3, retry.ReasonMaxAttempts, 2 * time.Second},
		{"max elapsed first", retry.Config{MaxAttempts: 10, MaxElapsed: 3500 * ms, Backoff: retry.Constant{Interval: time.Second}},
			4, retry.ReasonMaxElapsed, 3 * time.Second},
		// An attempt may not start at MaxElapsed exactly.
		{"max elapsed boundary", retry.Config{MaxAttempts: retry.Unlimited, MaxElapsed: 3 * time.Second, Backoff: retry.Constant{Interval: time.Second}},
			3, retry.ReasonMaxElapsed, 2 * time.Second},
		{"unlimited attempts", retry.Config{MaxAttempts: retry.Unlimited, MaxElapsed: 10 * time.Second, Backoff: retry.Constant{Interval: 100 * ms}},
			100, retry.ReasonMaxElapsed, 9900 * ms},
		// Zero means three attempts, whatever else is set.
		{"max elapsed alone is three attempts", retry.Config{MaxElapsed: 10 * time.Second, Backoff: retry.Constant{Interval: 100 * ms}},
			3, retry.ReasonMaxAttempts, 200 * ms},
		{"zero backoff", retry.Config{MaxAttempts: 4, Backoff: retry.Constant{}}, 4, retry.ReasonMaxAttempts, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := mustNew(t, tt.c)
				s := newScript(fail(errBoom))
				_, err := r.Execute(t.Context(), s)
				ex := exhausted(t, err)
				if ex.Attempts != tt.wantAttempts || ex.Reason != tt.wantReason || ex.Elapsed != tt.wantElapsed {
					t.Errorf("gave up after %d attempts, %v, elapsed %v; want %d, %v, %v",
						ex.Attempts, ex.Reason, ex.Elapsed, tt.wantAttempts, tt.wantReason, tt.wantElapsed)
				}
				if n := len(s.attempts()); n != tt.wantAttempts {
					t.Errorf("operation called %d times, want %d", n, tt.wantAttempts)
				}
			})
		})
	}
}

// An operation that takes time counts against MaxElapsed.
func TestMaxElapsedCountsAttemptTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, retry.Config{MaxAttempts: retry.Unlimited, MaxElapsed: 10 * time.Second, Backoff: retry.Constant{Interval: time.Second}})
		calls := 0
		_, err := r.Execute(t.Context(), bulwark.OperationFunc(func(context.Context) (any, error) {
			calls++
			time.Sleep(2 * time.Second)
			return nil, errBoom
		}))
		// Attempts start at 0, 3, 6 and 9 (each fails 2s later); after the
		// fourth, the next would start at 11+1 ≥ 10. Elapsed counts from the
		// end of the first attempt: 11 - 2.
		ex := exhausted(t, err)
		if calls != 4 || ex.Elapsed != 9*time.Second || ex.Reason != retry.ReasonMaxElapsed {
			t.Errorf("calls = %d, exhausted = %+v; want 4 calls, elapsed 9s, max elapsed", calls, *ex)
		}
	})
}

// ExhaustedError.Elapsed has one start whatever the configuration (it
// used to count from the call's start only when MaxElapsed was set).
func TestElapsedHasOneStart(t *testing.T) {
	for _, maxElapsed := range []time.Duration{0, time.Hour} {
		synctest.Test(t, func(t *testing.T) {
			r := mustNew(t, retry.Config{MaxAttempts: 3, MaxElapsed: maxElapsed, Backoff: retry.Constant{Interval: time.Second}})
			_, err := r.Execute(t.Context(), bulwark.OperationFunc(func(context.Context) (any, error) {
				time.Sleep(2 * time.Second)
				return nil, errBoom
			}))
			// attempt 2s | wait 1s | attempt 2s | wait 1s | attempt 2s
			if ex := exhausted(t, err); ex.Elapsed != 6*time.Second {
				t.Errorf("MaxElapsed %v: Elapsed %v, want 6s (from the end of the first attempt)", maxElapsed, ex.Elapsed)
			}
		})
	}
}

func TestSucceedsAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, retry.Config{MaxAttempts: 5, Backoff: retry.Linear{Initial: 10 * ms, Step: 10 * ms}})
		s := newScript(fail(errBoom), fail(errBoom), ok("done"))
		v, err := r.Execute(t.Context(), s)
		if v != "done" || err != nil {
			t.Fatalf("Execute = %v, %v; want done, nil", v, err)
		}
		if got, want := s.attempts(), []time.Duration{0, 10 * ms, 30 * ms}; !slices.Equal(got, want) {
			t.Errorf("attempts at %v, want %v", got, want)
		}
		want := retry.Snapshot{Calls: 1, Attempts: 3, Retries: 2}
		if got := r.Snapshot(); got != want {
			t.Errorf("Snapshot = %+v, want %+v", got, want)
		}
	})
}

// The deadline-fit rule: the policy does not start a wait that would end at
// or after the context's deadline; it gives up at once.
func TestDeadlineFit(t *testing.T) {
	tests := []struct {
		name         string
		deadline     time.Duration
		wantAttempts int
		wantAt       time.Duration // when Execute returns
	}{
		{"next wait passes deadline", time.Second, 3, 800 * ms},
		{"next wait ends at deadline", 1200 * ms, 3, 800 * ms},
		{"just fits", 1201 * ms, 4, 1200 * ms},
		{"first wait does not fit", 300 * ms, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), tt.deadline)
				defer cancel()
				r := mustNew(t, retry.Config{MaxAttempts: 10, Backoff: retry.Constant{Interval: 400 * ms}})
				s := newScript(fail(errBoom))
				start := time.Now()
				_, err := r.Execute(ctx, s)
				if took := time.Since(start); took != tt.wantAt {
					t.Errorf("Execute returned after %v, want %v", took, tt.wantAt)
				}
				ex := exhausted(t, err)
				if ex.Attempts != tt.wantAttempts || ex.Reason != retry.ReasonDeadline || ex.Last != errBoom {
					t.Errorf("exhausted = %+v; want %d attempts, reason deadline, last boom", *ex, tt.wantAttempts)
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v matches DeadlineExceeded; the caller's deadline has not passed", err)
				}
			})
		})
	}
}

// The error carries the RetryAfter of the dependency.
type retryAfterError struct{ d time.Duration }

func (e retryAfterError) Error() string             { return fmt.Sprintf("slow down for %v", e.d) }
func (e retryAfterError) RetryAfter() time.Duration { return e.d }

func TestRetryAfterOverridesBackoff(t *testing.T) {
	tests := []struct {
		name      string
		c         retry.Config
		err       error
		wantWaits []time.Duration
	}{
		{"override", retry.Config{Backoff: retry.Constant{Interval: 100 * ms}},
			retryAfterError{2 * time.Second}, []time.Duration{2 * time.Second, 2 * time.Second}},
		{"wrapped", retry.Config{Backoff: retry.Constant{Interval: 100 * ms}},
			fmt.Errorf("call: %w", retryAfterError{time.Second}), []time.Duration{time.Second, time.Second}},
		{"capped", retry.Config{Backoff: retry.Constant{Interval: 100 * ms}, MaxRetryAfter: 500 * ms},
			retryAfterError{time.Hour}, []time.Duration{500 * ms, 500 * ms}},
		{"default cap 30s", retry.Config{Backoff: retry.Constant{Interval: 100 * ms}},
			retryAfterError{time.Hour}, []time.Duration{30 * time.Second, 30 * time.Second}},
		{"zero uses backoff", retry.Config{Backoff: retry.Constant{Interval: 100 * ms}},
			retryAfterError{0}, []time.Duration{100 * ms, 100 * ms}},
		{"no jitter on demanded delay", retry.Config{Backoff: retry.Constant{Interval: 100 * ms}, Jitter: retry.JitterFull},
			retryAfterError{time.Second}, []time.Duration{time.Second, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var waits []time.Duration
				tt.c.OnRetry = func(_ context.Context, e retry.Event) { waits = append(waits, e.Delay) }
				r := mustNew(t, tt.c)
				s := newScript(fail(tt.err))
				_, err := r.Execute(t.Context(), s)
				exhausted(t, err)
				if !slices.Equal(waits, tt.wantWaits) {
					t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
				}
				var at []time.Duration
				var sum time.Duration
				at = append(at, 0)
				for _, w := range tt.wantWaits {
					sum += w
					at = append(at, sum)
				}
				if got := s.attempts(); !slices.Equal(got, at) {
					t.Errorf("attempts at %v, want %v", got, at)
				}
			})
		})
	}
}

// A demanded delay that does not fit before the deadline ends the call now.
func TestRetryAfterRespectsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		r := mustNew(t, retry.Config{})
		_, err := r.Execute(ctx, newScript(fail(retryAfterError{10 * time.Second})))
		if ex := exhausted(t, err); ex.Reason != retry.ReasonDeadline || ex.Attempts != 1 {
			t.Errorf("exhausted = %+v, want 1 attempt, reason deadline", *ex)
		}
		var ra bulwark.RetryAfter
		if !errors.As(err, &ra) || ra.RetryAfter() != 10*time.Second {
			t.Errorf("the exhausted error does not unwrap to the RetryAfter error")
		}
	})
}

func TestPermanent(t *testing.T) {
	t.Run("after a retry", func(t *testing.T) {
		s := newScript(ok(1), fail(retry.Permanent(errBoom)))
		r := mustNew(t, retry.Config{MaxAttempts: 5, Backoff: retry.Constant{}, IsRetryableResult: func(v any) bool { return v == 1 }})
		_, err := r.Execute(t.Context(), s)
		if err != errBoom {
			t.Errorf("err = %v (%T), want errBoom itself", err, err)
		}
		if n := len(s.attempts()); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
	t.Run("first attempt", func(t *testing.T) {
		r := mustNew(t, retry.Config{MaxAttempts: 5})
		s := newScript(fail(retry.Permanent(errBoom)))
		_, err := r.Execute(t.Context(), s)
		if err != errBoom {
			t.Errorf("err = %v (%T), want errBoom itself", err, err)
		}
		if n := len(s.attempts()); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
		if got := r.Snapshot(); got.Exhausted != 0 || got.Retries != 0 {
			t.Errorf("Snapshot = %+v, want no retries and no exhaustion", got)
		}
	})
	t.Run("buried", func(t *testing.T) {
		r := mustNew(t, retry.Config{MaxAttempts: 5})
		wrapped := fmt.Errorf("load: %w", retry.Permanent(errBoom))
		s := newScript(fail(wrapped))
		_, err := r.Execute(t.Context(), s)
		if err != wrapped || !errors.Is(err, errBoom) || !retry.IsPermanent(err) {
			t.Errorf("err = %v, want the wrapping error unchanged", err)
		}
		if n := len(s.attempts()); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("nil", func(t *testing.T) {
		if retry.Permanent(nil) != nil {
			t.Error("Permanent(nil) != nil")
		}
		if retry.IsPermanent(errBoom) || retry.IsPermanent(nil) {
			t.Error("IsPermanent of an unmarked error is true")
		}
		if p := retry.Permanent(errBoom); p.Error() != "boom" || !errors.Is(p, errBoom) {
			t.Errorf("Permanent(errBoom) = %q, does not read or unwrap as errBoom", p)
		}
	})
}

func TestRetryablePredicate(t *testing.T) {
	errTransient := errors.New("transient")
	r := mustNew(t, retry.Config{MaxAttempts: 5, Backoff: retry.Constant{},
		IsRetryable: func(err error) bool { return errors.Is(err, errTransient) }})
	s := newScript(fail(errTransient), fail(errTransient), fail(errBoom), ok("never"))
	_, err := r.Execute(t.Context(), s)
	if err != errBoom {
		t.Errorf("err = %v, want errBoom unchanged", err)
	}
	if n := len(s.attempts()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestMaxAttemptsOneReturnsTheErrorItself(t *testing.T) {
	r := mustNew(t, retry.Config{MaxAttempts: 1})
	s := newScript(fail(errBoom))
	v, err := r.Execute(t.Context(), s)
	if v != nil || err != errBoom {
		t.Errorf("Execute = %v, %v; want nil, errBoom", v, err)
	}
}

func TestRetryOnResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, retry.Config{MaxAttempts: 4, Backoff: retry.Constant{Interval: ms},
			IsRetryableResult: func(v any) bool { return v == "pending" }})
		s := newScript(ok("pending"), ok("pending"), ok("ready"))
		v, err := r.Execute(t.Context(), s)
		if v != "ready" || err != nil || len(s.attempts()) != 3 {
			t.Errorf("Execute = %v, %v after %d attempts; want ready, nil after 3", v, err, len(s.attempts()))
		}

		s = newScript(ok("pending"))
		v, err = r.Execute(t.Context(), s)
		ex := exhausted(t, err)
		if v != "pending" || ex.Last != nil || ex.Attempts != 4 || ex.Reason != retry.ReasonMaxAttempts {
			t.Errorf("Execute = %v, %+v; want the last result and an exhausted error with no Last", v, *ex)
		}
		if got := err.Error(); got != "retry: gave up after 4 attempt(s) in 3ms (max attempts): result still rejected by IsRetryableResult" {
			t.Errorf("Error() = %q", got)
		}
	})
}

// An attempt that ran out of its own time is retried, whatever IsRetryable
// says, because the caller's context is still live.
func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, retry.Config{MaxAttempts: 3, AttemptTimeout: time.Second, Backoff: retry.Constant{Interval: 100 * ms},
			IsRetryable: func(error) bool { return false }})
		var deadlines []time.Duration
		start := time.Now()
		calls := 0
		v, err := r.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			calls++
			dl, _ := ctx.Deadline()
			deadlines = append(deadlines, dl.Sub(start))
			if calls == 3 {
				return "third time", nil
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		if v != "third time" || err != nil {
			t.Fatalf("Execute = %v, %v; want third time, nil", v, err)
		}
		if want := []time.Duration{time.Second, 2100 * ms, 3200 * ms}; !slices.Equal(deadlines, want) {
			t.Errorf("attempt deadlines = %v, want %v", deadlines, want)
		}
	})
}

func TestAttemptTimeoutExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, retry.Config{MaxAttempts: 2, AttemptTimeout: time.Second, Backoff: retry.Constant{}})
		_, err := r.Execute(t.Context(), bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		// Elapsed runs from the end of the first attempt, MaxElapsed or not.
		ex := exhausted(t, err)
		if ex.Attempts != 2 || !errors.Is(err, context.DeadlineExceeded) || ex.Elapsed != time.Second {
			t.Errorf("exhausted = %+v; want 2 attempts ending in DeadlineExceeded, elapsed 1s", *ex)
		}
	})
}

// The per-attempt deadline is never later than the caller's: when the
// caller's deadline ends an attempt, that is the caller's cancellation.
func TestAttemptTimeoutCallerDeadlineFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 500*ms)
		defer cancel()
		r := mustNew(t, retry.Config{MaxAttempts: 3, AttemptTimeout: time.Second})
		calls := 0
		_, err := r.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
			calls++
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		if err != context.DeadlineExceeded || calls != 1 {
			t.Errorf("Execute = %v after %d calls; want the caller's DeadlineExceeded after 1", err, calls)
		}
	})
}

func TestCallerCancellationIsNeverRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r := mustNew(t, retry.Config{MaxAttempts: 5, IsRetryable: func(error) bool { return true }})
	calls := 0
	_, err := r.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
		calls++
		cancel()
		return nil, fmt.Errorf("query: %w", ctx.Err())
	}))
	if !errors.Is(err, context.Canceled) || errors.Is(err, retry.ErrExhausted) || calls != 1 {
		t.Errorf("Execute = %v after %d calls; want the cancellation unchanged after 1", err, calls)
	}
}

// An operation that ignores cancellation and fails with its own error once
// the caller has gone: no retry, the error comes back as it is.
func TestCallerGoneDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r := mustNew(t, retry.Config{MaxAttempts: 5})
	calls := 0
	_, err := r.Execute(ctx, bulwark.OperationFunc(func(ctx context.Context) (any, error) {
		calls++
		cancel()
		return nil, errBoom
	}))
	if err != errBoom || calls != 1 {
		t.Errorf("Execute = %v after %d calls; want errBoom after 1", err, calls)
	}
}

func TestCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		r := mustNew(t, retry.Config{MaxAttempts: 5, Backoff: retry.Constant{Interval: time.Hour}})
		s := newScript(fail(errBoom), ok("too late"))
		time.AfterFunc(50*ms, cancel)
		start := time.Now()
		v, err := r.Execute(ctx, s)
		if took := time.Since(start); took != 50*ms {
			t.Errorf("Execute returned after %v, want 50ms", took)
		}
		if v != nil || err != context.Canceled {
			t.Errorf("Execute = %v, %v; want nil, context.Canceled", v, err)
		}
		if n := len(s.attempts()); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
}

func TestExhaustedError(t *testing.T) {
	e := &retry.ExhaustedError{Attempts: 3, Elapsed: 2 * time.Second, Reason: retry.ReasonBudget, Last: errBoom}
	if got, want := e.Error(), "retry: gave up after 3 attempt(s) in 2s (budget): boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, retry.ErrExhausted) || !errors.Is(e, errBoom) || errors.Unwrap(e) != errBoom {
		t.Error("ExhaustedError does not match ErrExhausted and unwrap to Last")
	}
	var wrapped error = fmt.Errorf("outer: %w", e)
	var got *retry.ExhaustedError
	if !errors.As(wrapped, &got) || got != e {
		t.Error("errors.As does not find the ExhaustedError")
	}
	for r, want := range map[retry.Reason]string{retry.ReasonMaxAttempts: "max attempts",
		retry.ReasonMaxElapsed: "max elapsed", retry.ReasonDeadline: "deadline", retry.ReasonBudget: "budget",
		0: "Reason(0)"} {
		if got := r.String(); got != want {
			t.Errorf("Reason(%d).String() = %q, want %q", r, got, want)
		}
	}
}

func TestHooksAndEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hook []retry.Event
		var rec eventlog.Recorder
		type key struct{}
		r := mustNew(t, retry.Config{
			Name:        "api",
			MaxAttempts: 3,
			Backoff:     retry.Exponential{Initial: 10 * ms},
			OnRetry: func(ctx context.Context, e retry.Event) {
				if ctx.Value(key{}) != "v" {
					t.Error("OnRetry did not get the caller's context")
				}
				hook = append(hook, e)
			},
			Observer: &rec,
		})
		ctx := context.WithValue(t.Context(), key{}, "v")
		_, err := r.Execute(ctx, newScript(fail(errBoom)))
		exhausted(t, err)

		wantHook := []retry.Event{{Attempt: 2, Delay: 10 * ms, Err: errBoom}, {Attempt: 3, Delay: 20 * ms, Err: errBoom}}
		if !slices.Equal(hook, wantHook) {
			t.Errorf("OnRetry got %+v, want %+v", hook, wantHook)
		}
		want := []bulwark.Event{
			{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 2, Delay: 10 * ms, Err: errBoom},
			{Kind: bulwark.KindRetry, Policy: "retry", Name: "api", Attempt: 3, Delay: 20 * ms, Err: errBoom},
			{Kind: bulwark.KindExhausted, Policy: "retry", Name: "api", Attempt: 3, Err: errBoom},
		}
		if rec.Len() != len(want) {
			t.Fatalf("events = %+v, want %+v", rec.Events(), want)
		}
		for i := range want {
			g, w := rec.Events()[i], want[i]
			if g.Kind != w.Kind || g.Policy != w.Policy || g.Name != w.Name || g.Attempt != w.Attempt ||
				g.Delay != w.Delay || g.Err != w.Err {
				t.Errorf("event %d = %+v, want %+v", i, g, w)
			}
		}
		if r.Name() != "api" {
			t.Errorf("Name() = %q", r.Name())
		}
		wantSnap := retry.Snapshot{Calls: 1, Attempts: 3, Retries: 2, Exhausted: 1}
		if got := r.Snapshot(); got != wantSnap {
			t.Errorf("Snapshot = %+v, want %+v", got, wantSnap)
		}
	})
}

func TestNoEventsOnSuccess(t *testing.T) {
	var rec eventlog.Recorder
	hooked := false
	r := mustNew(t, retry.Config{Observer: &rec, OnRetry: func(context.Context, retry.Event) { hooked = true }})
	if v, err := r.Execute(t.Context(), newScript(ok(1))); v != 1 || err != nil {
		t.Fatalf("Execute = %v, %v", v, err)
	}
	if len(rec.Kinds()) != 0 || hooked {
		t.Errorf("a first-attempt success reported %v (hook %v)", rec.Kinds(), hooked)
	}
}

func TestBudgetStopsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Reserve: 1/s × 2s = 2 retries; ratio 0.5 of calls.
		b, err := retry.NewBudget(retry.BudgetConfig{Ratio: 0.5, MinPerSecond: 1, TTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var rec eventlog.Recorder
		r := mustNew(t, retry.Config{Name: "db", MaxAttempts: 10, Backoff: retry.Constant{}, Budget: b, Observer: &rec})
		// One call: limit = 0.5×1 + 2 = 2 retries, so 3 attempts.
		s := newScript(fail(errBoom))
		_, err = r.Execute(t.Context(), s)
		ex := exhausted(t, err)
		if ex.Reason != retry.ReasonBudget || ex.Attempts != 3 || len(s.attempts()) != 3 {
			t.Errorf("exhausted = %+v after %d attempts; want reason budget after 3", *ex, len(s.attempts()))
		}
		want := []bulwark.Kind{bulwark.KindRetry, bulwark.KindRetry, bulwark.KindBudgetExhausted, bulwark.KindExhausted}
		if got := rec.Kinds(); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		// A second call: 2 calls allow 0.5×2 + 2 = 3 retries, 2 are spent.
		s = newScript(fail(errBoom))
		_, err = r.Execute(t.Context(), s)
		if ex := exhausted(t, err); ex.Attempts != 2 || ex.Reason != retry.ReasonBudget {
			t.Errorf("second call: exhausted = %+v, want 2 attempts, budget", *ex)
		}
		wantSnap := retry.Snapshot{Calls: 2, Attempts: 5, Retries: 3, Exhausted: 2, BudgetRefusals: 2}
		if got := r.Snapshot(); got != wantSnap {
			t.Errorf("Snapshot = %+v, want %+v", got, wantSnap)
		}
		// Once the window has passed, the budget is whole again.
		time.Sleep(2 * time.Second)
		s = newScript(fail(errBoom), fail(errBoom), ok("up"))
		if v, err := r.Execute(t.Context(), s); v != "up" || err != nil {
			t.Errorf("after the window: Execute = %v, %v; want up, nil", v, err)
		}
	})
}

// A budget shared by two policies counts both.
func TestBudgetShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := retry.NewBudget(retry.BudgetConfig{Ratio: 1, MinPerSecond: 1, TTL: time.Second})
		r1 := mustNew(t, retry.Config{MaxAttempts: 5, Backoff: retry.Constant{}, Budget: b})
		r2 := mustNew(t, retry.Config{MaxAttempts: 5, Backoff: retry.Constant{}, Budget: b})
		// r1: 1 call, limit 1+1 = 2 retries.
		_, err := r1.Execute(t.Context(), newScript(fail(errBoom)))
		if ex := exhausted(t, err); ex.Attempts != 3 {
			t.Errorf("r1 made %d attempts, want 3", ex.Attempts)
		}
		// r2: 2 calls, limit 2+1 = 3 retries, 2 spent by r1.
		_, err = r2.Execute(t.Context(), newScript(fail(errBoom)))
		if ex := exhausted(t, err); ex.Attempts != 2 {
			t.Errorf("r2 made %d attempts, want 2", ex.Attempts)
		}
		want := retry.BudgetSnapshot{Calls: 2, Retries: 3, Available: 0, Rejected: 2}
		if got := b.Snapshot(); got != want {
			t.Errorf("budget Snapshot = %+v, want %+v", got, want)
		}
	})
}

// Many goroutines share a policy, a budget and a seeded source under -race.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := retry.NewBudget(retry.BudgetConfig{})
		r := mustNew(t, retry.Config{MaxAttempts: 4, Backoff: retry.Exponential{Initial: ms}, Jitter: retry.JitterFull,
			Rand: rand.NewPCG(1, 1), Budget: b, Observer: &eventlog.Recorder{}})
		var wg sync.WaitGroup
		var okCount atomic.Int64
		for g := range 16 {
			wg.Go(func() {
				for i := range 50 {
					s := newScript(fail(errBoom), ok(g*100+i))
					if v, err := r.Execute(t.Context(), s); err == nil && v == g*100+i {
						okCount.Add(1)
					}
				}
			})
		}
		wg.Wait()
		snap := r.Snapshot()
		if snap.Calls != 800 || snap.Attempts != snap.Calls+snap.Retries {
			t.Errorf("Snapshot = %+v, want 800 calls and attempts = calls + retries", snap)
		}
		if uint64(okCount.Load()) != snap.Retries || snap.Exhausted != snap.BudgetRefusals {
			t.Errorf("successes %d, Snapshot %+v: every retry should succeed, every exhaustion be a refusal",
				okCount.Load(), snap)
		}
	})
}

// Chain(retry, timeout): each attempt has its own deadline; a timed-out
// attempt is the dependency's failure, not the caller's, so it is retried.
func TestChainWithTimeoutPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := mustNew(t, retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Interval: 100 * ms}})
		to, err := timeout.New(timeout.Config{Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		start := time.Now()
		_, err = bulwark.Get(t.Context(), bulwark.Chain(rt, to), func(ctx context.Context) (int, error) {
			calls++
			<-ctx.Done()
			return 0, ctx.Err()
		})
		ex := exhausted(t, err)
		if calls != 3 || ex.Attempts != 3 || !errors.Is(err, timeout.ErrTimeout) || time.Since(start) != 3200*ms {
			t.Errorf("calls %d, err %v after %v; want 3 attempts ending in a timeout after 3.2s", calls, err, time.Since(start))
		}
	})
}
